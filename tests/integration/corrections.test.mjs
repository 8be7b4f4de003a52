// Corrections over HTTP on both APIs: DELETE and PUT /v1/events/:id, DELETE and PUT
// /api/v1/events; every answer follows at once (v1 usage, history, listings, a meter of
// each kind the example needs), unknown ids answer 404 in each API's error shape,
// repeating a void is harmless, re-ingesting a voided id does not bring it back, the
// audit trail (GET /api/v1/events?includeVoided=true, and the log with the traceId), and
// everything still holds after a restart (kill -9); a kill -9 while appends, voids and
// corrections run loses nothing acknowledged; on PostgreSQL a second instance sees a change
// within 1 s. Runs on the embedded store and on PostgreSQL (integration_pg.corrections).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, api, uniq, eventually, backend, databaseUrlFor, makeTempDir,
  listAllEvents, START_TIMEOUT_MS,
} from './lib/server.mjs';

const KEY = 'corrections-key';
const auth = { authorization: `Bearer ${KEY}` };
let srv;

before(async () => {
  srv = await startServer({ args: ['--api-key', KEY] });
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

const call = (method, p, body, headers = {}, server = srv) =>
  api(server, method, p, { body, headers: { ...auth, ...headers } });

async function total(entity, server = srv) {
  const r = await call('GET', `/v1/usage/${encodeURIComponent(entity)}?since=1970-01-01T00:00:00.000Z`,
    undefined, {}, server);
  assert.equal(r.status, 200, r.text);
  return r.json.data.totalEvents;
}

async function meterValues(slug, subject) {
  const r = await call('GET', `/api/v1/meters/${slug}/query?subject=${encodeURIComponent(subject)}&from=2024-01-15T00:00:00Z&to=2024-01-16T00:00:00Z`);
  assert.equal(r.status, 200, r.text);
  return r.json.data.reduce((s, row) => s + row.value, 0);
}

test('v1: correct, void, repeat, unknown ids and re-ingesting a voided id', { timeout: 20_000 }, async () => {
  const [a, b, id] = [uniq('corr-a'), uniq('corr-b'), uniq('evt')];
  const post = await call('POST', '/v1/events', {
    id, entityId: a, eventType: 'api_call', metadata: { n: 1 }, timestamp: '2024-01-15T10:00:00.000Z',
  });
  assert.equal(post.status, 201, post.text);
  assert.equal(await total(a), 1);

  const put = await call('PUT', `/v1/events/${id}`, { entityId: b, eventType: 'api_call', metadata: { n: 2 } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.success, true);
  assert.equal(put.json.data.id, id);
  assert.equal(put.json.data.entityId, b);
  assert.deepEqual(put.json.data.metadata, { n: 2 });
  assert.equal(put.json.data.timestamp, '2024-01-15T10:00:00.000Z', 'no timestamp: the stored time is kept');
  assert.equal(await total(a), 0);
  assert.equal(await total(b), 1);
  const history = await call('GET', `/v1/usage/${b}/history?since=2024-01-15T00:00:00.000Z&until=2024-01-16T00:00:00.000Z`);
  assert.equal(history.status, 200, history.text);
  assert.equal(history.json.data.dataPoints.reduce((s, p) => s + p.count, 0), 1);
  const listed = await call('GET', `/v1/events?entityId=${b}`);
  assert.deepEqual(listed.json.data.events.map((e) => e.metadata), [{ n: 2 }]);

  const mismatch = await call('PUT', `/v1/events/${id}`, { id: 'other', entityId: b, eventType: 'api_call' });
  assert.equal(mismatch.status, 400, mismatch.text);
  assert.equal(mismatch.json.error.message, 'id must match the event id in the path');
  const invalid = await call('PUT', `/v1/events/${id}`, { entityId: b });
  assert.equal(invalid.status, 400, invalid.text);
  assert.equal(invalid.json.error.code, 'VALIDATION_ERROR');

  const del = await call('DELETE', `/v1/events/${id}`);
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.data.entityId, b);
  assert.equal(await total(b), 0);
  const again = await call('DELETE', `/v1/events/${id}`);
  assert.equal(again.status, 200, 'repeating a void is harmless');
  assert.equal(await total(b), 0);

  const resent = await call('POST', '/v1/events', { id, entityId: b, eventType: 'api_call' });
  assert.equal(resent.status, 200, 'a voided id stays taken: a duplicate');
  assert.equal(await total(b), 0, 'and it does not come back');

  for (const method of ['DELETE', 'PUT']) {
    const r = await call(method, `/v1/events/${uniq('nope')}`, { entityId: a, eventType: 'api_call' });
    assert.equal(r.status, 404, `${method}: ${r.text}`);
    assert.equal(r.json.error.code, 'NOT_FOUND');
    assert.match(r.json.error.message, /^Event not found: /);
  }
  const noKey = await api(srv, 'DELETE', `/v1/events/${id}`);
  assert.equal(noKey.status, 401);
});

test('metering: PUT and DELETE /api/v1/events move every meter, with an audit trail', { timeout: 30_000 }, async () => {
  const type = uniq('corr_type');
  const subject = uniq('corr-subject');
  const source = 'corrections-test';
  const slugs = {};
  for (const agg of ['SUM', 'COUNT', 'MAX', 'MIN', 'LATEST', 'AVG', 'UNIQUE_COUNT']) {
    const slug = `${type}_${agg.toLowerCase()}`.toLowerCase().replace(/[^a-z0-9]+/g, '_');
    slugs[agg] = slug;
    const r = await call('POST', '/api/v1/meters', {
      slug, aggregation: agg, eventType: type,
      ...(agg === 'COUNT' ? {} : { valueProperty: agg === 'UNIQUE_COUNT' ? '$.user' : '$.tokens' }),
    });
    assert.equal(r.status, 201, r.text);
  }
  const ce = (id, tokens, user, time) => ({
    specversion: '1.0', id, source, type, subject, time, data: { tokens, user },
  });
  const ingest = await call('POST', '/api/v1/events', [
    ce('e1', 10, 'u1', '2024-01-15T10:00:00Z'),
    ce('e2', 30, 'u2', '2024-01-15T10:01:00Z'),
    ce('e3', 5, 'u2', '2024-01-15T10:02:00Z'),
  ], { 'content-type': 'application/cloudevents-batch+json' });
  assert.equal(ingest.status, 204, ingest.text);
  const expect = async (want, label) => {
    for (const [agg, value] of Object.entries(want))
      assert.equal(await meterValues(slugs[agg], subject), value, `${label}: ${agg}`);
  };
  await expect({ SUM: 45, COUNT: 3, MAX: 30, MIN: 5, LATEST: 5, AVG: 15, UNIQUE_COUNT: 2 }, 'as ingested');

  // e2's 30 was wrong: 20 by user u1.
  const put = await call('PUT', '/api/v1/events', ce('e2', 20, 'u1', '2024-01-15T10:01:00Z'),
    { 'content-type': 'application/cloudevents+json', 'x-trace-id': 'corrections-put-trace' });
  assert.equal(put.status, 204, put.text);
  await expect({ SUM: 35, COUNT: 3, MAX: 20, MIN: 5, LATEST: 5, AVG: 35 / 3, UNIQUE_COUNT: 2 }, 'after the correction');

  // e3 was a test event.
  const del = await call('DELETE', `/api/v1/events?source=${source}&id=e3`, undefined,
    { 'x-trace-id': 'corrections-void-trace' });
  assert.equal(del.status, 204, del.text);
  await expect({ SUM: 30, COUNT: 2, MAX: 20, MIN: 10, LATEST: 20, AVG: 15, UNIQUE_COUNT: 1 }, 'after the void');
  assert.equal((await call('DELETE', `/api/v1/events?source=${source}&id=e3`)).status, 204, 'a repeated void');

  const resend = await call('POST', '/api/v1/events', ce('e3', 5, 'u2', '2024-01-15T10:02:00Z'),
    { 'content-type': 'application/cloudevents+json' });
  assert.equal(resend.status, 204);
  await expect({ SUM: 30, COUNT: 2 }, 're-ingesting the voided id');

  const unknown = await call('DELETE', `/api/v1/events?source=${source}&id=nope`);
  assert.equal(unknown.status, 404, unknown.text);
  assert.equal(unknown.headers.get('content-type'), 'application/problem+json');
  assert.equal(unknown.json.status, 404);
  const missing = await call('DELETE', '/api/v1/events?id=e1');
  assert.equal(missing.status, 400, missing.text);
  assert.match(missing.json.detail, /source is required/);
  const unknownPut = await call('PUT', '/api/v1/events', ce('nope', 1, 'u', '2024-01-15T10:00:00Z'),
    { 'content-type': 'application/cloudevents+json' });
  assert.equal(unknownPut.status, 404, unknownPut.text);
  const two = await call('PUT', '/api/v1/events', [ce('e1', 1, 'u', '2024-01-15T10:00:00Z'), ce('e2', 1, 'u', '2024-01-15T10:00:00Z')],
    { 'content-type': 'application/cloudevents-batch+json' });
  assert.equal(two.status, 400, two.text);

  const range = 'from=2024-01-15T00:00:00Z&to=2024-01-16T00:00:00Z';
  const live = await call('GET', `/api/v1/events?subject=${subject}&${range}`);
  assert.deepEqual(live.json.map((i) => [i.event.id, i.event.data.tokens]), [['e2', 20], ['e1', 10]]);
  assert.ok(live.json.every((i) => i.revision === undefined));
  const trail = await call('GET', `/api/v1/events?subject=${subject}&${range}&includeVoided=true`);
  assert.equal(trail.status, 200, trail.text);
  const revisions = trail.json.filter((i) => i.revision);
  assert.deepEqual(revisions.map((i) => [i.event.id, i.event.data.tokens, i.revision.kind]).sort(),
    [['e2', 30, 'superseded'], ['e3', 5, 'voided']]);
  for (const r of revisions) {
    assert.match(r.revision.by, /^key:[0-9a-f]{12}$/, 'the key, not its text');
    assert.ok(!JSON.stringify(r).includes(KEY));
  }
  assert.equal(revisions.find((r) => r.event.id === 'e3').revision.traceId, 'corrections-void-trace');
  const bad = await call('GET', `/api/v1/events?includeVoided=yes`);
  assert.equal(bad.status, 400);

  const logged = await srv.waitForLog((l) => l.message === 'event voided' && l.traceId === 'corrections-void-trace');
  assert.equal(logged.eventId, 'e3');
  assert.match(logged.changedBy, /^key:/);

  // Everything holds after a crash and a start on the same data.
  const dataDir = srv.dataDir;
  await srv.kill9();
  srv = await startServer({ args: ['--api-key', KEY], dataDir });
  await expect({ SUM: 30, COUNT: 2, MAX: 20, MIN: 10, LATEST: 20, AVG: 15, UNIQUE_COUNT: 1 }, 'after a restart');
  const after = await call('GET', `/api/v1/events?subject=${subject}&${range}&includeVoided=true`);
  assert.equal(after.json.filter((i) => i.revision).length, 2);
});

// Two instances share a database on PostgreSQL only (integration_pg.corrections).
if (backend === 'postgres') test('PostgreSQL: another instance on the same database sees a change within 1 s',
  { timeout: 30_000 }, async () => {
    const other = await startServer({
      args: ['--api-key', KEY, '--database-url', await databaseUrlFor(srv.dataDir)],
    });
    const [entity, id] = [uniq('corr-shared'), uniq('evt')];
    const post = await call('POST', '/v1/events', { id, entityId: entity, eventType: 'api_call' });
    assert.equal(post.status, 201, post.text);
    await eventually(async () => (await total(entity, other)) === 1, { timeoutMs: 1000, what: 'the event on the other instance' });
    const put = await call('PUT', `/v1/events/${id}`, { entityId: `${entity}-b`, eventType: 'api_call' });
    assert.equal(put.status, 200, put.text);
    await eventually(async () => (await total(entity, other)) === 0 && (await total(`${entity}-b`, other)) === 1,
      { timeoutMs: 1000, what: 'the correction on the other instance' });
    const del = await call('DELETE', `/v1/events/${id}`, undefined, {}, other);
    assert.equal(del.status, 200, del.text);
    await eventually(async () => (await total(`${entity}-b`)) === 0, { timeoutMs: 1000, what: 'the void on the first instance' });
  });

test('kill -9 while events are appended, voided and corrected: nothing acknowledged is lost', { timeout: 60_000 }, async () => {
  const dataDir = makeTempDir();
  const run = uniq('corr-crash');
  const [home, moved] = [`${run}-home`, `${run}-moved`];
  // id -> what it must be after the restart: 'home' (as appended), 'moved' (corrected to
  // the other entity) or 'voided'; an id whose last request the kill cut off is repeated
  // after the restart (a repeated append, void or correction is harmless).
  const state = new Map();
  const pending = new Map(); // id -> the request the kill may have cut off
  const s = await startServer({ args: ['--api-key', KEY], dataDir });
  const on = (server) => (method, p, body) => api(server, method, p, { body, headers: auth, timeoutMs: 10_000 });
  const first = on(s);
  let stopping = false;
  const request = async (id, req) => {
    pending.set(id, req);
    try {
      const r = await first(...req.call);
      if (r.status !== req.ok) throw new Error(`${req.call[0]} ${req.call[1]}: ${r.status} ${r.text}`);
      state.set(id, req.then);
      pending.delete(id);
    } catch (err) {
      if (!stopping) throw err;
    }
  };
  const appends = Array.from({ length: 3 }, async (_, w) => {
    for (let i = 0; !stopping; i++) {
      const id = `${run}-w${w}-${i}`;
      await request(id, { call: ['POST', '/v1/events', { id, entityId: home, eventType: 'write' }], ok: 201, then: 'home' });
    }
  });
  const changes = (async () => {
    for (let n = 0; !stopping; n++) {
      const ids = [...state.keys()].filter((id) => !pending.has(id));
      if (ids.length === 0) { await new Promise((r) => setTimeout(r, 5)); continue; }
      const id = ids[(n * 7919) % ids.length];
      if (n % 2 === 0) await request(id, { call: ['DELETE', `/v1/events/${id}`], ok: 200, then: 'voided' });
      else await request(id, { call: ['PUT', `/v1/events/${id}`, { entityId: moved, eventType: 'write' }], ok: 200, then: 'moved' });
    }
  })();
  await eventually(() => state.size > 150 && [...state.values()].filter((v) => v !== 'home').length > 30,
    { timeoutMs: 30_000, intervalMs: 5, what: 'appends and changes before the kill' });
  stopping = true;
  const killed = s.kill9();
  await Promise.all([...appends, changes]);
  await killed;

  srv = await startServer({ args: ['--api-key', KEY], dataDir });
  const again = on(srv);
  for (const [id, req] of pending) {
    const r = await again(...req.call);
    // An append cut off after its commit is a duplicate (200); a change cut off is simply
    // made (again).
    assert.ok(r.status === req.ok || (req.call[0] === 'POST' && r.status === 200), `${id}: ${r.status} ${r.text}`);
    state.set(id, req.then);
  }
  const want = (where) => [...state].filter(([, v]) => v === where).map(([id]) => id).sort();
  for (const where of ['home', 'moved']) {
    const entity = where === 'home' ? home : moved;
    const listed = await listAllEvents(srv, entity, { headers: auth });
    assert.deepEqual(listed.events.map((e) => e.id).sort(), want(where), `the events of ${where}`);
    assert.equal(await total(entity), want(where).length, `the rollups of ${where} equal a recount`);
  }
  assert.ok(want('voided').length > 0 && want('moved').length > 0);
});
