// The metering API through @openmeter/sdk against the real binary: meter management,
// validation answers (RFC 7807 problems), CloudEvents ingest rules (content types,
// all-or-nothing batches, deduplication), the events list with validationError, the
// SDK's API key, and the v1 API alongside.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, httpRequest, START_TIMEOUT_MS } from '../integration/lib/server.mjs';
import {
  API_KEY, client, retry503, raw, assertProblem, sdkRejects, expectedRows, assertRows, Ledger,
} from './lib.mjs';

const T = { timeout: 30_000 };
const D = (s) => new Date(s);
const FROM = D('2024-03-01T00:00:00Z');
const TO = D('2024-04-01T00:00:00Z');

let srv;
let om;
let ledger;

before(async () => {
  srv = await startServer({ args: ['--api-key', API_KEY] });
  om = client(srv);
  ledger = new Ledger(om);
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

/** POST with the API key and no Content-Type header at all (node:http adds none). */
async function rawNoContentType(server, path, body) {
  const r = await httpRequest(server.port, {
    method: 'POST', path, body, headers: { authorization: `Bearer ${API_KEY}` },
  });
  return { ...r, headers: new Headers(r.headers) };
}

let n = 0;
const ce = (type, subject, time, data, extra = {}) => ({
  id: `api-${++n}`, source: 'api-test', specversion: '1.0', type, subject, time: D(time), data, ...extra,
});

async function queryValue(slug, q = {}) {
  const res = await retry503(() => om.meters.query(slug, { from: FROM, to: TO, ...q }));
  return res.data;
}

// ------------------------------------------------------------------ meters CRUD

test('meters: create, get by slug and id, list, update, delete (SDK)', T, async () => {
  const def = {
    slug: 'crud_tokens', name: 'CRUD tokens', description: 'tokens for CRUD', aggregation: 'SUM',
    eventType: 'crud', valueProperty: '$.tokens', groupBy: { model: '$.model' },
  };
  const m = await om.meters.create({ ...def, groupBy: { ...def.groupBy } });
  for (const [k, v] of Object.entries(def)) assert.deepEqual(m[k], v, `created ${k}`);
  assert.equal(typeof m.id, 'string');
  assert.ok(m.id.length > 0);
  assert.ok(m.createdAt instanceof Date && !Number.isNaN(m.createdAt.getTime()), 'createdAt is a date-time');
  assert.ok(m.updatedAt instanceof Date && !Number.isNaN(m.updatedAt.getTime()), 'updatedAt is a date-time');

  const raw201 = await raw(srv, 'POST', '/api/v1/meters', { body: { slug: 'crud_count', aggregation: 'COUNT', eventType: 'crud' } });
  assert.equal(raw201.status, 201, raw201.text);
  assert.equal(raw201.json.name, 'crud_count', 'name defaults to the slug');

  const bySlug = await om.meters.get('crud_tokens');
  const byId = await om.meters.get(m.id);
  assert.equal(bySlug.id, m.id);
  assert.equal(byId.slug, 'crud_tokens');
  const list = await om.meters.list();
  assert.ok(Array.isArray(list));
  assert.deepEqual(list.filter((x) => x.slug.startsWith('crud_')).map((x) => x.slug).sort(), ['crud_count', 'crud_tokens']);

  // Duplicate slug: refused, the meter unchanged.
  const dup = await raw(srv, 'POST', '/api/v1/meters', { body: { ...def, aggregation: 'MAX' } });
  assertProblem(dup, 409); // docs/API.md: a second meter with the same slug answers 409
  assert.equal((await om.meters.get('crud_tokens')).aggregation, 'SUM');

  // Usage before the update, then a new group-by key computed over the stored events.
  const events = [
    ce('crud', 's1', '2024-03-05T10:00:00Z', { tokens: 10, model: 'a', tier: 'free' }),
    ce('crud', 's1', '2024-03-05T11:00:00Z', { tokens: 5, model: 'b', tier: 'pro' }),
    ce('crud', 's2', '2024-03-06T10:00:00Z', { tokens: 7, model: 'a', tier: 'pro' }),
  ];
  await ledger.ingest(events);
  assert.deepEqual((await queryValue('crud_tokens', { groupBy: ['model'] })).map((r) => [r.groupBy.model, r.value]).sort(),
    [['a', 17], ['b', 5]]);

  const updated = await om.meters.update('crud_tokens', {
    name: 'CRUD tokens v2', description: 'updated', groupBy: { model: '$.model', tier: '$.tier' },
  });
  assert.equal(updated.name, 'CRUD tokens v2');
  assert.equal(updated.description, 'updated');
  assert.deepEqual(updated.groupBy, { model: '$.model', tier: '$.tier' });
  assert.equal(updated.aggregation, 'SUM');
  assert.equal(updated.id, m.id);
  assert.ok(updated.updatedAt.getTime() >= m.updatedAt.getTime());
  assert.equal((await om.meters.get(m.id)).name, 'CRUD tokens v2');
  const q = { from: FROM, to: TO, groupBy: ['tier'] };
  const byTier = await retry503(() => om.meters.query('crud_tokens', { ...q }));
  assertRows(byTier.data, expectedRows(ledger.stored, { ...def, groupBy: updated.groupBy }, q), 'groupBy tier after update', q);

  await om.meters.delete('crud_tokens');
  await sdkRejects(om.meters.get('crud_tokens'), 404);
  await sdkRejects(om.meters.get(m.id), 404);
  await sdkRejects(om.meters.query('crud_tokens', { from: FROM, to: TO }), 404);
  await sdkRejects(om.meters.delete('crud_tokens'), 404);
  assert.ok(!(await om.meters.list()).some((x) => x.slug === 'crud_tokens'));
  const del = await raw(srv, 'DELETE', '/api/v1/meters/crud_count');
  assert.equal(del.status, 204, del.text);
  assert.equal(del.text, '');
});

// ------------------------------------------------------------------ meter validation

test('meter create: bad slug, bad JSONPath, missing valueProperty answer 400 problems and create nothing', T, async () => {
  const base = { aggregation: 'SUM', eventType: 'val', valueProperty: '$.tokens' };
  const cases = [
    [{ ...base, slug: 'Bad-Slug' }, /slug/],
    [{ ...base, slug: 'a__b' }, /slug/],
    [{ ...base, slug: '_lead' }, /slug/],
    [{ ...base, slug: 'trail_' }, /slug/],
    [{ ...base, slug: '' }, /slug/],
    [{ ...base, slug: 'x'.repeat(65) }, /slug/],
    [{ ...base, slug: 'deep_scan', valueProperty: '$..a' }, /valueProperty/],
    [{ ...base, slug: 'wildcard', valueProperty: '$.a[*]' }, /valueProperty/],
    [{ ...base, slug: 'no_dollar', valueProperty: 'tokens' }, /valueProperty/],
    [{ ...base, slug: 'bad_group', groupBy: { model: '$..model' } }, /groupBy|model/],
    [{ aggregation: 'SUM', eventType: 'val', slug: 'sum_no_value' }, /valueProperty/],
    [{ aggregation: 'AVG', eventType: 'val', slug: 'avg_no_value' }, /valueProperty/],
    [{ aggregation: 'LATEST', eventType: 'val', slug: 'latest_no_value' }, /valueProperty/],
    [{ aggregation: 'UNIQUE_COUNT', eventType: 'val', slug: 'uc_no_value' }, /valueProperty/],
    [{ ...base, slug: 'bad_agg', aggregation: 'MEDIAN' }, /aggregation/],
    [{ ...base, slug: 'no_type', eventType: undefined }, /eventType/],
  ];
  for (const [body, detail] of cases) {
    const err = await sdkRejects(om.meters.create(body), 400, detail);
    assert.equal(err.getField('status'), 400);
    const r = await raw(srv, 'POST', '/api/v1/meters', { body });
    assertProblem(r, 400, detail);
    assert.equal(typeof r.json.instance, 'string', `instance: ${r.text}`);
    if (body.slug && body.slug.length <= 64) {
      const g = await raw(srv, 'GET', `/api/v1/meters/${encodeURIComponent(body.slug)}`);
      assert.equal(g.status, 404, `meter ${body.slug} must not exist: ${g.text}`);
    }
  }
  // The longest slug and a COUNT without valueProperty are fine.
  await om.meters.create({ ...base, slug: 'x'.repeat(64) });
  await om.meters.create({ aggregation: 'COUNT', eventType: 'val', slug: 'count_no_value' });
  // Malformed JSON and a non-object body.
  assertProblem(await raw(srv, 'POST', '/api/v1/meters', { body: '{"slug":' }), 400);
  assertProblem(await raw(srv, 'POST', '/api/v1/meters', { body: '[1,2]' }), 400);
});

test('meter update: bad groupBy JSONPath answers 400 and changes nothing', T, async () => {
  await om.meters.create({ slug: 'upd_check', aggregation: 'SUM', eventType: 'upd', valueProperty: '$.v', groupBy: { a: '$.a' } });
  await sdkRejects(om.meters.update('upd_check', { groupBy: { a: '$..a' } }), 400);
  assert.deepEqual((await om.meters.get('upd_check')).groupBy, { a: '$.a' });
  await sdkRejects(om.meters.update('no_such_meter', { name: 'x' }), 404);
});

// ------------------------------------------------------------------ query validation

test('query validation: from >= to, unknown keys, unknown meter', T, async () => {
  await om.meters.create({ slug: 'qv_sum', aggregation: 'SUM', eventType: 'qv', valueProperty: '$.v', groupBy: { m: '$.m' } });
  // A new meter may answer 503 while its back-fill runs (even to a request that is
  // invalid anyway): wait for a valid query to answer first.
  assert.deepEqual((await retry503(() => om.meters.query('qv_sum', { from: FROM, to: TO }))).data, []);
  const t = D('2024-03-10T00:00:00Z');
  let err = await sdkRejects(om.meters.query('qv_sum', { from: t, to: t }), 400, /from|to/);
  assert.equal(err.getField('status'), 400);
  await sdkRejects(om.meters.query('qv_sum', { from: D('2024-03-11T00:00:00Z'), to: t }), 400, /from|to/);
  // Several subjects are no error (they group by subject, as OpenMeter's do).
  assert.deepEqual((await om.meters.query('qv_sum', { from: FROM, to: TO, subject: ['s1', 's2'] })).data, []);
  await sdkRejects(om.meters.query('qv_sum', { from: FROM, to: TO, groupBy: ['nope'] }), 400, /nope/);
  await sdkRejects(om.meters.query('qv_sum', { from: FROM, to: TO, windowSize: 'WEEK' }), 400, /windowSize/);
  await sdkRejects(om.meters.query('qv_sum', { from: FROM, to: TO, windowSize: 'DAY', windowTimeZone: 'Mars/Olympus' }), 400, /Mars\/Olympus|windowTimeZone/);
  await sdkRejects(om.meters.query('qv_sum', { from: 'yesterday', to: TO }), 400, /from/);
  await sdkRejects(om.meters.queryPost('qv_sum', { from: t, to: t }), 400, /from|to/);
  // The same over plain HTTP: problem+json with every field.
  assertProblem(await raw(srv, 'GET', `/api/v1/meters/qv_sum/query?from=${t.toISOString()}&to=${t.toISOString()}`), 400);
  // Unknown meter: 404 problem on every meter route.
  await sdkRejects(om.meters.get('no_such_meter'), 404);
  await sdkRejects(om.meters.query('no_such_meter', { from: FROM, to: TO }), 404);
  await sdkRejects(om.meters.delete('no_such_meter'), 404);
  await sdkRejects(om.meters.listGroupByValues('no_such_meter', 'm', { from: FROM, to: TO }), 404);
  for (const p of ['/api/v1/meters/no_such_meter', '/api/v1/meters/no_such_meter/query', '/api/v1/meters/no_such_meter/subjects']) {
    assertProblem(await raw(srv, 'GET', p), 404);
  }
  assertProblem(await raw(srv, 'GET', '/api/v1/meters/qv_sum/group-by/nope/values'), 404);
});

// ------------------------------------------------------------------ CloudEvents ingest

test('CloudEvents: a batch with an invalid event answers 400 naming it and stores none of the batch', T, async () => {
  await om.meters.create({ slug: 'ce_count', aggregation: 'COUNT', eventType: 'ce', groupBy: {} });
  const good = ce('ce', 'ce-s1', '2024-03-15T10:00:00Z', { v: 1 });
  // Through the SDK (which fills id, source, specversion and time): subject missing.
  const sdkBad = { type: 'ce', time: D('2024-03-15T11:00:00Z'), data: { v: 2 } };
  await sdkRejects(om.events.ingest([good, sdkBad]), 400, /subject/);
  await sdkRejects(om.events.ingest([good, { subject: 'ce-s1', time: D('2024-03-15T11:00:00Z') }]), 400, /type/);
  // Raw batches: each required field missing in turn (the SDK would fill some of them).
  for (const field of ['id', 'source', 'specversion', 'type', 'subject']) {
    const bad = { ...ce('ce', 'ce-s2', '2024-03-15T12:00:00Z', { v: 3 }), time: '2024-03-15T12:00:00Z' };
    delete bad[field];
    const body = [{ ...good, time: good.time.toISOString() }, bad];
    const r = await raw(srv, 'POST', '/api/v1/events', { body, headers: { 'content-type': 'application/cloudevents-batch+json' } });
    assertProblem(r, 400, new RegExp(field));
    // Names the event: its index in the batch (1) or its id.
    const names = field === 'id' ? /\b1\b/ : new RegExp(`\\b1\\b|${bad.id}`);
    assert.match(r.json.detail, names, `detail names the event: ${r.json.detail}`);
  }
  // Other invalid values.
  for (const [patch, name] of [
    [{ specversion: '0.3' }, /specversion/],
    [{ time: 'yesterday' }, /time/],
    [{ data: 'not an object' }, /data/],
    [{ datacontenttype: 'text/plain' }, /datacontenttype/],
  ]) {
    const bad = { ...ce('ce', 'ce-s2', '2024-03-15T12:00:00Z', { v: 3 }), time: '2024-03-15T12:00:00Z', ...patch };
    const r = await raw(srv, 'POST', '/api/v1/events', { body: [{ ...good, time: good.time.toISOString() }, bad], headers: { 'content-type': 'application/cloudevents-batch+json' } });
    assertProblem(r, 400, name);
  }
  // Nothing of those batches was stored.
  const listed = await om.events.list({ from: FROM, to: TO, subject: 'ce-s' });
  assert.deepEqual(listed, [], `no event of a rejected batch is stored: ${JSON.stringify(listed)}`);
  assert.deepEqual(await queryValue('ce_count'), []);
  // The good event alone is fine, and once.
  await ledger.ingest([good]);
  await ledger.ingest([good]);
  const rows = await queryValue('ce_count');
  assert.equal(rows.length, 1);
  assert.equal(rows[0].value, 1);
});

test('CloudEvents: content types (single, batch, application/json, charset) and 415 for others', T, async () => {
  await om.meters.create({ slug: 'ct_sum', aggregation: 'SUM', eventType: 'ct', valueProperty: '$.v' });
  const ev = (i, v) => ({ id: `ct-${i}`, source: 'ct-test', specversion: '1.0', type: 'ct', subject: 'ct-s', time: '2024-03-20T10:00:00Z', data: { v } });
  const post = (body, contentType) => raw(srv, 'POST', '/api/v1/events', { body, headers: { 'content-type': contentType } });
  let r = await post(ev(1, 1), 'application/cloudevents+json');
  assert.equal(r.status, 204, r.text);
  assert.equal(r.text, '');
  r = await post([ev(2, 10), ev(3, 100)], 'application/cloudevents-batch+json');
  assert.equal(r.status, 204, r.text);
  r = await post(ev(4, 1000), 'application/json');
  assert.equal(r.status, 204, r.text);
  r = await post([ev(5, 10000)], 'application/json');
  assert.equal(r.status, 204, r.text);
  r = await post(ev(6, 100000), 'application/cloudevents+json; charset=utf-8');
  assert.equal(r.status, 204, r.text);
  r = await post([ev(7, 1000000)], 'application/cloudevents-batch+json; charset=UTF-8');
  assert.equal(r.status, 204, r.text);
  for (const ct of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
    r = await post([ev(99, 5)], ct);
    assertProblem(r, 415);
  }
  // docs/API.md: any other type, or none, answers 415 (an empty header is none).
  r = await raw(srv, 'POST', '/api/v1/events', { body: JSON.stringify([ev(98, 5)]), headers: { 'content-type': '' } });
  assertProblem(r, 415);
  r = await rawNoContentType(srv, '/api/v1/events', JSON.stringify([ev(97, 5)]));
  assertProblem(r, 415);
  // Malformed JSON: 400.
  assertProblem(await post('[{"id":', 'application/cloudevents-batch+json'), 400);
  // Retries of all of them change nothing.
  await post(ev(1, 1), 'application/cloudevents+json');
  await post([ev(2, 10), ev(3, 100), ev(4, 1000)], 'application/cloudevents-batch+json');
  const rows = await queryValue('ct_sum');
  assert.equal(rows.length, 1, JSON.stringify(rows));
  assert.equal(rows[0].value, 1111111, 'every accepted event once; none of the 415s');
});

// ------------------------------------------------------------------ events list

test('GET /api/v1/events: events newest first, filters, and validationError for a value a SUM meter cannot use', T, async () => {
  await om.meters.create({ slug: 'ev_sum', aggregation: 'SUM', eventType: 'evlist', valueProperty: '$.tokens' });
  await om.meters.create({ slug: 'ev_count', aggregation: 'COUNT', eventType: 'evlist' });
  const now = Math.floor(Date.now() / 1000) * 1000;
  const events = [
    ce('evlist', 'evl-subject-1', new Date(now - 3_600_000).toISOString(), { tokens: 5 }),
    ce('evlist', 'evl-subject-1', new Date(now - 3_000_000).toISOString(), { tokens: 'abc' }),
    ce('evlist', 'evl-subject-2', new Date(now - 2_400_000).toISOString(), { other: 1 }),
    ce('evlist', 'evl-subject-2', new Date(now - 1_800_000).toISOString(), { tokens: '7.5' }),
  ];
  await ledger.ingest(events);
  const listed = await om.events.list({ subject: 'evl-subject' }); // default window: last 72 h
  assert.equal(listed.length, 4, JSON.stringify(listed));
  assert.deepEqual(listed.map((x) => x.event.id), events.map((e) => e.id).reverse(), 'newest first');
  for (const item of listed) {
    const sent = events.find((e) => e.id === item.event.id);
    assert.equal(item.event.subject, sent.subject);
    assert.equal(item.event.type, 'evlist');
    assert.equal(item.event.source, 'api-test');
    assert.equal(item.event.specversion, '1.0');
    assert.equal(item.event.time.getTime(), sent.time.getTime());
    assert.deepEqual(item.event.data, sent.data);
    assert.ok(item.ingestedAt instanceof Date && !Number.isNaN(item.ingestedAt.getTime()));
    assert.ok(item.storedAt instanceof Date && !Number.isNaN(item.storedAt.getTime()));
  }
  const byId = Object.fromEntries(listed.map((x) => [x.event.id, x]));
  assert.equal(byId[events[0].id].validationError, undefined, 'a numeric value: no validationError');
  assert.equal(byId[events[3].id].validationError, undefined, 'a numeric string: no validationError');
  const notNumeric = byId[events[1].id].validationError;
  assert.equal(typeof notNumeric, 'string', `validationError of tokens "abc": ${JSON.stringify(byId[events[1].id])}`);
  assert.ok(notNumeric.length > 0);
  const missing = byId[events[2].id].validationError;
  assert.equal(typeof missing, 'string', `validationError of a missing tokens: ${JSON.stringify(byId[events[2].id])}`);

  // Not counted by SUM, counted by COUNT.
  const q = { from: new Date(now - 4 * 3_600_000), to: new Date(now + 60_000) };
  const sum = await retry503(() => om.meters.query('ev_sum', { ...q }));
  assert.deepEqual(sum.data.map((r) => r.value), [12.5]);
  const count = await retry503(() => om.meters.query('ev_count', { ...q }));
  assert.deepEqual(count.data.map((r) => r.value), [4]);

  // Filters: id substring, subject substring, limit, time range.
  const one = await om.events.list({ id: events[2].id });
  assert.deepEqual(one.map((x) => x.event.id), [events[2].id]);
  const s2 = await om.events.list({ subject: 'subject-2' });
  assert.deepEqual(s2.map((x) => x.event.id).sort(), [events[2].id, events[3].id].sort());
  const limited = await om.events.list({ subject: 'evl-subject', limit: 2 });
  assert.deepEqual(limited.map((x) => x.event.id), [events[3].id, events[2].id]);
  const ranged = await om.events.list({ subject: 'evl-subject', from: events[1].time, to: events[3].time });
  assert.deepEqual(ranged.map((x) => x.event.id).sort(), [events[1].id, events[2].id, events[3].id].sort(), 'from and to inclusive, as OpenMeter');
  await sdkRejects(om.events.list({ limit: 101 }), 400);
  await sdkRejects(om.events.list({ limit: 0 }), 400);
});

// ------------------------------------------------------------------ auth

test('the SDK authenticates with Bearer <apiKey>; without it or with a wrong key: 401 problem', T, async () => {
  await om.meters.list();
  const noKey = client(srv, null);
  await sdkRejects(noKey.meters.list(), 401);
  await sdkRejects(client(srv, 'wrong-key').events.ingest({ type: 'x', subject: 'y' }), 401);
  assertProblem(await raw(srv, 'GET', '/api/v1/meters', { apiKey: null }), 401);
});

// ------------------------------------------------------------------ v1 alongside

test('v1 API unchanged alongside: POST /v1/events and GET /v1/usage/:entityId', T, async () => {
  const entityId = `v1-entity-${process.pid}`;
  const headers = { 'x-api-key': API_KEY };
  for (const eventType of ['api_call', 'api_call', 'login']) {
    const r = await raw(srv, 'POST', '/v1/events', { body: { entityId, eventType }, headers, apiKey: null });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.success, true);
    assert.equal(r.json.data.entityId, entityId);
  }
  // The CloudEvents API at the same time.
  await om.meters.create({ slug: 'v1_side', aggregation: 'COUNT', eventType: 'v1side' });
  await ledger.ingest([ce('v1side', 'v1-side-subject', '2024-03-25T00:00:00Z', {})]);
  const u = await raw(srv, 'GET', `/v1/usage/${entityId}?since=1970-01-01T00:00:00.000Z`, { headers, apiKey: null });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.json.success, true);
  assert.equal(u.json.data.entityId, entityId);
  assert.equal(u.json.data.totalEvents, 3, u.text);
  assert.deepEqual(u.json.data.byEventType, { api_call: 2, login: 1 });
  // v1 errors keep the v1 shape, not problem+json.
  const bad = await raw(srv, 'POST', '/v1/events', { body: { eventType: 'x' }, headers, apiKey: null });
  assert.equal(bad.status, 400);
  assert.match(bad.headers.get('content-type'), /^application\/json/);
  assert.equal(typeof bad.json.error?.code, 'string', bad.text);
  assert.equal((await queryValue('v1_side'))[0]?.value, 1);
});
