// Namespaces (tenants): every API key belongs to one namespace (`--api-key acme:KA`;
// a key without `namespace:` is in `default`), and a request reads and writes only its
// key's namespace. One service with `--api-key acme:KA --api-key globex:KG --api-key KD`
// shows, namespace against namespace:
//   - the same (source, id) is two events, in either API, neither a duplicate;
//   - listings (v1, /api/v1/events, /api/v2/events), v1 usage (summary, history,
//     stats), meters (the same slug with two definitions, JSON and CSV queries,
//     subjects, listing), subjects and portal tokens hold only the key's own data;
//   - another namespace's meter, subject or event id answers 404 exactly as an
//     unknown one, and a void or correction with the wrong key changes nothing;
//   - a wrong key is 401; /health and /ready need none; /metrics answers every key;
//   - a restart keeps each namespace's data apart; removing a namespace's keys stops
//     serving it and keeps its data, giving it a key again serves it again.
// Other services show: a bad namespace name, an empty key and one key in two
// namespaces exit 2; a data dir (or database) written without keys is the `default`
// namespace of a service with keys; `--meters` entries with `namespace:` are created
// in that namespace only, and a namespace no key serves is refused at start.
// Runs on the embedded store and on PostgreSQL (integration_pg.namespaces).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, stopAll, api, uniq, eventually, backend, makeTempDir, cleanEnv, binaryPath,
  assertBinary, freePort, listAllEvents, START_TIMEOUT_MS, SERVICE, VERSION, ISO_MS_Z,
} from './lib/server.mjs';

const KA = 'ns-itest-acme-KA';
const KG = 'ns-itest-globex-KG';
const KD = 'ns-itest-default-KD';
const SECRET = 'namespaces-portal-secret-of-32-chars-or-more';
const KEY_ARGS = ['--api-key', `acme:${KA}`, '--api-key', `globex:${KG}`, '--api-key', KD];
const ARGS = [...KEY_ARGS, '--portal-secret', SECRET];
const T = { timeout: 30_000 };
const ALL = 'since=1970-01-01T00:00:00.000Z&until=2100-01-01T00:00:00.000Z';

let srv;
let dataDir;

before(async () => {
  dataDir = makeTempDir('usage-metrics-ns-');
  srv = await startServer({ dataDir, args: ARGS });
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

// globex presents its key as x-api-key, the others as a bearer token: both forms.
const auth = (key) => (key === KG ? { 'x-api-key': key } : { authorization: `Bearer ${key}` });
const call = (key, method, p, body, headers = {}, server = srv) =>
  api(server, method, p, { body, headers: { ...auth(key), ...headers } });
const BATCH = { 'content-type': 'application/cloudevents-batch+json' };
const ONE = { 'content-type': 'application/cloudevents+json' };

/** A CloudEvent. */
const ce = (source, id, type, subject, time, data) => ({ specversion: '1.0', id, source, type, subject, time, data });

async function ingest(key, events, server = srv) {
  const r = await call(key, 'POST', '/api/v1/events', events, BATCH, server);
  assert.equal(r.status, 204, `ingest with ${key}: ${r.text}`);
}

async function ok(key, method, p, body, server = srv) {
  const r = await call(key, method, p, body, {}, server);
  assert.ok(r.status >= 200 && r.status < 300, `${key} ${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}

/** A meter query, retried while the meter back-fills (503). */
async function meterQuery(key, slug, q, headers = {}, server = srv) {
  return eventually(async () => {
    const r = await call(key, 'GET', `/api/v1/meters/${slug}/query?${q}`, undefined, headers, server);
    return r.status === 503 ? null : r;
  }, { timeoutMs: 10_000, what: `${key}: the query of ${slug} without 503` });
}

/** [subject, value] rows of a meter query grouped by subject. */
async function bySubject(key, slug, range, server = srv) {
  const r = await meterQuery(key, slug, `${range}&groupBy=subject`, {}, server);
  assert.equal(r.status, 200, `${key} query ${slug}: ${r.text}`);
  return r.json.data.map((row) => [row.subject, row.value]);
}

async function usage(key, entity, server = srv) {
  return (await ok(key, 'GET', `/v1/usage/${encodeURIComponent(entity)}?${ALL}`, undefined, server)).data;
}

const slugOf = (prefix) => `${prefix}_${uniq('x').slice(2)}`.replace(/-/g, '_');

test('the same (source, id) in two namespaces is two events, in either API; each key lists only its own', T, async () => {
  const entity = uniq('ns-same');
  const id = uniq('ns-evt');
  const body = (who, n) => ({ id, entityId: entity, eventType: 'ns_call', metadata: { who, n }, timestamp: '2024-02-01T10:00:00.000Z' });
  for (const [key, who, n] of [[KA, 'acme', 1], [KG, 'globex', 2], [KD, 'default', 3]]) {
    const r = await call(key, 'POST', '/v1/events', body(who, n));
    assert.equal(r.status, 201, `v1 ${who}: a new event, not a duplicate: ${r.text}`);
    assert.deepEqual(r.json.data.metadata, { who, n });
  }
  // Deduplication still holds within a namespace: the repeat answers acme's own copy.
  const again = await call(KA, 'POST', '/v1/events', body('acme-again', 9));
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.json.data.metadata, { who: 'acme', n: 1 });

  // The metering API: the same source and id under two keys.
  const source = uniq('ns-src');
  const subject = uniq('ns-ce');
  const type = 'ns_prompt';
  await ingest(KA, [ce(source, 'e1', type, subject, '2024-02-01T11:00:00Z', { tokens: 10, who: 'acme' })]);
  await ingest(KG, [ce(source, 'e1', type, subject, '2024-02-01T11:00:00Z', { tokens: 20, who: 'globex' })]);
  // A retry in acme is counted once and does not take globex's values.
  await ingest(KA, [ce(source, 'e1', type, subject, '2024-02-01T11:00:00Z', { tokens: 99, who: 'acme-retry' })]);

  for (const [key, who, n] of [[KA, 'acme', 1], [KG, 'globex', 2], [KD, 'default', 3]]) {
    const listed = await listAllEvents(srv, entity, { headers: auth(key) });
    assert.equal(listed.total, 1, `${who}: GET /v1/events total`);
    assert.deepEqual(listed.events.map((e) => [e.id, e.metadata]), [[id, { who, n }]], `${who}: GET /v1/events`);
    assert.equal((await usage(key, entity)).totalEvents, 1, `${who}: usage`);
    // v1 events are CloudEvents too: the metering listing shows the namespace's own.
    const v1ce = await ok(key, 'GET', `/api/v1/events?subject=${entity}&from=2024-02-01T00:00:00Z&to=2024-02-02T00:00:00Z`);
    assert.deepEqual(v1ce.map((i) => [i.event.id, i.event.data]), [[id, { who, n }]], `${who}: GET /api/v1/events (v1 event)`);
  }
  const range = 'from=2024-02-01T00:00:00Z&to=2024-02-02T00:00:00Z';
  const acme = await ok(KA, 'GET', `/api/v1/events?subject=${subject}&${range}`);
  assert.deepEqual(acme.map((i) => [i.event.source, i.event.id, i.event.data]), [[source, 'e1', { tokens: 10, who: 'acme' }]]);
  const globex = await ok(KG, 'GET', `/api/v1/events?subject=${subject}&${range}`);
  assert.deepEqual(globex.map((i) => [i.event.source, i.event.id, i.event.data]), [[source, 'e1', { tokens: 20, who: 'globex' }]]);
  assert.deepEqual(await ok(KD, 'GET', `/api/v1/events?subject=${subject}&${range}`), [], 'default has none of them');

  // Unfiltered listings do not show another namespace's events either.
  const onlyAcme = uniq('ns-only-acme');
  assert.equal((await call(KA, 'POST', '/v1/events', { entityId: onlyAcme, eventType: 'ns_call' })).status, 201);
  for (const key of [KG, KD]) {
    const all = await ok(key, 'GET', '/v1/events?limit=1000');
    assert.ok(!all.data.events.some((e) => e.entityId === onlyAcme || e.metadata?.who === 'acme'),
      `${key}: GET /v1/events lists none of acme's events`);
    const recent = await ok(key, 'GET', '/api/v1/events?limit=100');
    assert.ok(!recent.some((i) => i.event.subject === onlyAcme), `${key}: GET /api/v1/events lists none of acme's events`);
  }
});

test('each key sees only its own usage: summary, history, stats and /api/v2/events', T, async () => {
  const entity = uniq('ns-usage');
  const bulk = uniq('ns-bulk');
  const type = slugOf('ns_use');
  const stats = async (key) => (await ok(key, 'GET', '/v1/usage/stats')).data;
  const before = { a: await stats(KA), g: await stats(KG), d: await stats(KD) };

  const v1 = (key, events) => ok(key, 'POST', '/v1/events/batch', { events });
  await v1(KA, Array.from({ length: 5 }, (_, i) => ({
    entityId: entity, eventType: type, metadata: { who: 'acme' }, timestamp: `2024-02-02T10:0${i}:00.000Z`,
  })));
  // Many events in acme: a count that leaked into another namespace would show.
  await v1(KA, Array.from({ length: 300 }, (_, i) => ({
    entityId: bulk, eventType: type, metadata: { i }, timestamp: new Date(Date.UTC(2024, 1, 2, 12, 0, i)).toISOString(),
  })));
  await v1(KG, Array.from({ length: 2 }, (_, i) => ({
    entityId: entity, eventType: type, metadata: { who: 'globex' }, timestamp: `2024-02-02T11:0${i}:00.000Z`,
  })));

  const a = await usage(KA, entity);
  assert.equal(a.totalEvents, 5);
  assert.deepEqual(a.byEventType, { [type]: 5 });
  const g = await usage(KG, entity);
  assert.equal(g.totalEvents, 2);
  assert.deepEqual(g.byEventType, { [type]: 2 });
  assert.equal((await usage(KD, entity)).totalEvents, 0);
  assert.equal((await usage(KG, bulk)).totalEvents, 0, "globex does not count acme's entity");

  const history = async (key) => (await ok(key, 'GET',
    `/v1/usage/${entity}/history?interval=hour&since=2024-02-02T00:00:00.000Z&until=2024-02-03T00:00:00.000Z`)).data.dataPoints;
  assert.deepEqual(await history(KA), [{ timestamp: '2024-02-02T10:00:00.000Z', count: 5 }]);
  assert.deepEqual(await history(KG), [{ timestamp: '2024-02-02T11:00:00.000Z', count: 2 }]);
  assert.deepEqual(await history(KD), []);

  const after = { a: await stats(KA), g: await stats(KG), d: await stats(KD) };
  assert.equal(after.a.eventTypes[type], 305);
  assert.equal(after.g.eventTypes[type], 2);
  assert.equal(after.d.eventTypes[type], undefined);
  const delta = (k) => after[k].totalEvents - before[k].totalEvents;
  // Each namespace's total grows by its own events (and its own requests' self-tracking
  // events, a few here), never by acme's 305.
  assert.ok(delta('a') >= 305, `acme's total grew by ${delta('a')}`);
  assert.ok(delta('g') >= 2 && delta('g') < 100, `globex's total grew by ${delta('g')}`);
  assert.ok(delta('d') < 100, `default's total grew by ${delta('d')}`);
  assert.ok(after.g.uniqueEntities - before.g.uniqueEntities < 20);

  const v2 = async (key, subject) => {
    const filter = encodeURIComponent(JSON.stringify({ subject: { $eq: subject } }));
    return (await ok(key, 'GET', `/api/v2/events?limit=100&filter=${filter}`)).items;
  };
  assert.deepEqual((await v2(KA, entity)).map((i) => i.event.data.who), Array(5).fill('acme'));
  assert.deepEqual((await v2(KG, entity)).map((i) => i.event.data.who), Array(2).fill('globex'));
  assert.deepEqual(await v2(KG, bulk), []);
  assert.deepEqual(await v2(KD, entity), []);
  const page = await ok(KG, 'GET', '/api/v2/events?limit=100');
  assert.ok(!page.items.some((i) => i.event.subject === bulk || i.event.data?.who === 'acme'),
    "globex's unfiltered page holds none of acme's events");
});

test('meters: one slug, two definitions; each namespace queries its own (JSON and CSV); another\'s meter is 404', T, async () => {
  const slug = slugOf('ns_tokens');
  const only = slugOf('ns_acme_only');
  const type = slugOf('ns_m');
  const acmeMeter = await call(KA, 'POST', '/api/v1/meters', { slug, aggregation: 'SUM', eventType: type, valueProperty: '$.tokens' });
  assert.equal(acmeMeter.status, 201, acmeMeter.text);
  const globexMeter = await call(KG, 'POST', '/api/v1/meters', { slug, aggregation: 'SUM', eventType: type, valueProperty: '$.chars' });
  assert.equal(globexMeter.status, 201, `the same slug in globex is not a conflict: ${globexMeter.text}`);
  const onlyMeter = await call(KA, 'POST', '/api/v1/meters', { slug: only, aggregation: 'COUNT', eventType: type });
  assert.equal(onlyMeter.status, 201, onlyMeter.text);
  assert.equal((await call(KA, 'POST', '/api/v1/meters', { slug, aggregation: 'COUNT', eventType: type })).status, 409,
    'within a namespace a slug is still unique');

  assert.equal((await ok(KA, 'GET', `/api/v1/meters/${slug}`)).valueProperty, '$.tokens');
  assert.equal((await ok(KG, 'GET', `/api/v1/meters/${slug}`)).valueProperty, '$.chars');

  const t = '2024-02-03T10:00:00Z';
  await ingest(KA, [
    ce('ns-meters', 'm1', type, 'cust-1', t, { tokens: 10, chars: 1000 }),
    ce('ns-meters', 'm2', type, 'cust-1', t, { tokens: 10, chars: 1000 }),
    ce('ns-meters', 'm3', type, 'cust-2', t, { tokens: 5, chars: 500 }),
  ]);
  // The same ids again, in globex: its own events.
  await ingest(KG, [ce('ns-meters', 'm1', type, 'cust-1', t, { tokens: 7, chars: 3 })]);

  const range = 'from=2024-02-03T00:00:00Z&to=2024-02-04T00:00:00Z';
  assert.deepEqual(await bySubject(KA, slug, range), [['cust-1', 20], ['cust-2', 5]]);
  assert.deepEqual(await bySubject(KG, slug, range), [['cust-1', 3]]);
  assert.deepEqual(await bySubject(KA, only, range), [['cust-1', 2], ['cust-2', 1]]);

  const csv = async (key) => {
    const r = await meterQuery(key, slug, `${range}&groupBy=subject`, { accept: 'text/csv' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    return r.text.trimEnd().split('\n');
  };
  const w = '2024-02-03T00:00:00Z,2024-02-04T00:00:00Z';
  assert.deepEqual(await csv(KA), ['window_start,window_end,subject,value', `${w},cust-1,20.000000`, `${w},cust-2,5.000000`]);
  assert.deepEqual(await csv(KG), ['window_start,window_end,subject,value', `${w},cust-1,3.000000`]);

  assert.deepEqual(await ok(KA, 'GET', `/api/v1/meters/${slug}/subjects`), ['cust-1', 'cust-2']);
  assert.deepEqual(await ok(KG, 'GET', `/api/v1/meters/${slug}/subjects`), ['cust-1']);

  // A meter of acme only: globex answers 404 for it, by slug and by id, on every route,
  // exactly as for a meter that does not exist anywhere.
  const unknown = slugOf('ns_nowhere');
  for (const name of [only, onlyMeter.json.id, unknown]) {
    for (const [method, p, body] of [
      ['GET', `/api/v1/meters/${name}`],
      ['GET', `/api/v1/meters/${name}/query?${range}`],
      ['POST', `/api/v1/meters/${name}/query`, { from: '2024-02-03T00:00:00Z', to: '2024-02-04T00:00:00Z' }],
      ['GET', `/api/v1/meters/${name}/subjects`],
      ['GET', `/api/v1/meters/${name}/group-by/subject/values?${range}`],
      ['PUT', `/api/v1/meters/${name}`, { name: 'taken over' }],
      ['DELETE', `/api/v1/meters/${name}`],
    ]) {
      const r = await call(KG, method, p, body);
      assert.equal(r.status, 404, `globex ${method} ${p}: ${r.text}`);
      assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
      if (name !== unknown) {
        const nowhere = await call(KG, method, p.replace(name, unknown), body);
        assert.equal(r.json.detail.replace(name, '<name>'), nowhere.json.detail.replace(unknown, '<name>'),
          `${method} ${p}: the same answer as for an unknown meter`);
      }
    }
  }
  // Nothing globex did changed acme's meter.
  const still = await ok(KA, 'GET', `/api/v1/meters/${only}`);
  assert.equal(still.name, only);
  assert.deepEqual(await bySubject(KA, only, range), [['cust-1', 2], ['cust-2', 1]]);

  const slugs = async (key) => (await ok(key, 'GET', '/api/v1/meters')).map((m) => [m.slug, m.valueProperty]);
  const acmeList = await slugs(KA);
  const globexList = await slugs(KG);
  assert.ok(acmeList.some(([s, v]) => s === slug && v === '$.tokens'), JSON.stringify(acmeList));
  assert.ok(acmeList.some(([s]) => s === only));
  assert.ok(!acmeList.some(([s, v]) => s === slug && v === '$.chars'));
  assert.ok(globexList.some(([s, v]) => s === slug && v === '$.chars'), JSON.stringify(globexList));
  assert.ok(!globexList.some(([s]) => s === only));
  assert.equal(globexList.filter(([s]) => s === slug).length, 1);
  assert.ok(!(await slugs(KD)).some(([s]) => s === slug || s === only), 'default lists neither');

  // Deleting globex's meter leaves acme's of the same slug.
  assert.equal((await call(KG, 'DELETE', `/api/v1/meters/${slug}`)).status, 204);
  assert.equal((await call(KG, 'GET', `/api/v1/meters/${slug}`)).status, 404);
  assert.deepEqual(await bySubject(KA, slug, range), [['cust-1', 20], ['cust-2', 5]]);
});

test('subjects (/api/v1/subjects) belong to the namespace that upserted them', T, async () => {
  const key = uniq('ns-subject');
  const [acme] = await ok(KA, 'POST', '/api/v1/subjects', [{ key, displayName: 'ACME Corp' }]);
  assert.equal(acme.key, key);
  assert.ok((await ok(KA, 'GET', '/api/v1/subjects')).some((s) => s.key === key));
  assert.ok(!(await ok(KG, 'GET', '/api/v1/subjects')).some((s) => s.key === key), 'globex does not list it');
  assert.ok(!(await ok(KD, 'GET', '/api/v1/subjects')).some((s) => s.key === key), 'default does not list it');
  for (const idOrKey of [key, acme.id]) {
    for (const method of ['GET', 'DELETE']) {
      const r = await call(KG, method, `/api/v1/subjects/${encodeURIComponent(idOrKey)}`);
      assert.equal(r.status, 404, `globex ${method} ${idOrKey}: ${r.text}`);
    }
  }
  assert.equal((await ok(KA, 'GET', `/api/v1/subjects/${key}`)).displayName, 'ACME Corp', 'still there in acme');
  // globex may have a subject of the same key: its own, with its own id.
  const [globex] = await ok(KG, 'POST', '/api/v1/subjects', { key, displayName: 'Globex Inc' });
  assert.notEqual(globex.id, acme.id);
  assert.equal(globex.displayName, 'Globex Inc');
  const again = await ok(KA, 'GET', `/api/v1/subjects/${key}`);
  assert.deepEqual([again.id, again.displayName], [acme.id, 'ACME Corp']);
  assert.equal((await call(KG, 'DELETE', `/api/v1/subjects/${key}`)).status, 204);
  assert.equal((await ok(KA, 'GET', `/api/v1/subjects/${key}`)).displayName, 'ACME Corp');
});

test('corrections with another namespace\'s key answer 404 and change nothing', T, async () => {
  const entity = uniq('ns-corr');
  const id = uniq('ns-corr-evt');
  const posted = await call(KA, 'POST', '/v1/events', { id, entityId: entity, eventType: 'ns_call', metadata: { n: 1 }, timestamp: '2024-02-04T10:00:00.000Z' });
  assert.equal(posted.status, 201, posted.text);
  const nowhere = uniq('ns-nowhere');
  for (const [method, body] of [['DELETE'], ['PUT', { entityId: entity, eventType: 'ns_call', metadata: { n: 99 } }]]) {
    const r = await call(KG, method, `/v1/events/${id}`, body);
    assert.equal(r.status, 404, `globex ${method} /v1/events/${id}: ${r.text}`);
    assert.equal(r.json.error.code, 'NOT_FOUND');
    assert.equal(r.json.error.message, `Event not found: ${id}`, 'as for an id never stored');
    const unknown = await call(KG, method, `/v1/events/${nowhere}`, body);
    assert.equal(unknown.json.error.message, `Event not found: ${nowhere}`);
  }
  const listed = await listAllEvents(srv, entity, { headers: auth(KA) });
  assert.deepEqual(listed.events.map((e) => [e.id, e.metadata]), [[id, { n: 1 }]], "acme's event is unchanged");
  assert.equal((await usage(KA, entity)).totalEvents, 1);

  const source = uniq('ns-corr-src');
  const subject = uniq('ns-corr-subject');
  const type = slugOf('ns_corr');
  await ingest(KA, [ce(source, 'c1', type, subject, '2024-02-04T11:00:00Z', { tokens: 10 })]);
  const del = await call(KG, 'DELETE', `/api/v1/events?source=${source}&id=c1`);
  assert.equal(del.status, 404, del.text);
  assert.match(del.headers.get('content-type'), /^application\/problem\+json/);
  const put = await call(KG, 'PUT', '/api/v1/events', ce(source, 'c1', type, subject, '2024-02-04T11:00:00Z', { tokens: 99 }), ONE);
  assert.equal(put.status, 404, put.text);
  const range = `subject=${subject}&from=2024-02-04T00:00:00Z&to=2024-02-05T00:00:00Z`;
  const live = await ok(KA, 'GET', `/api/v1/events?${range}&includeVoided=true`);
  assert.deepEqual(live.map((i) => [i.event.id, i.event.data.tokens, i.revision?.kind]), [['c1', 10, undefined]],
    'no revision: nothing was voided or corrected');

  // acme's own correction is seen by acme only; globex's audit trail stays empty.
  const own = await call(KA, 'PUT', '/api/v1/events', ce(source, 'c1', type, subject, '2024-02-04T11:00:00Z', { tokens: 12 }), ONE);
  assert.equal(own.status, 204, own.text);
  const trail = await ok(KA, 'GET', `/api/v1/events?${range}&includeVoided=true`);
  assert.deepEqual(trail.map((i) => [i.event.data.tokens, i.revision?.kind ?? 'live']).sort(), [[10, 'superseded'], [12, 'live']]);
  assert.deepEqual(await ok(KG, 'GET', `/api/v1/events?${range}&includeVoided=true`), []);
  const v1del = await call(KA, 'DELETE', `/v1/events/${id}`);
  assert.equal(v1del.status, 200, v1del.text);
  assert.equal((await usage(KA, entity)).totalEvents, 0);
  // globex's event of the same id, posted now, is new there (acme's void is acme's).
  const fresh = await call(KG, 'POST', '/v1/events', { id, entityId: entity, eventType: 'ns_call' });
  assert.equal(fresh.status, 201, fresh.text);
  assert.equal((await usage(KG, entity)).totalEvents, 1);
  assert.equal((await usage(KA, entity)).totalEvents, 0);
});

test('portal tokens read their own namespace\'s meters; listing and invalidating stay in the namespace', T, async () => {
  const slug = slugOf('ns_portal');
  const globexOnly = slugOf('ns_portal_globex');
  const type = slugOf('ns_ptype');
  const subject = uniq('ns-portal-subject');
  for (const key of [KA, KG]) {
    const r = await call(key, 'POST', '/api/v1/meters', { slug, aggregation: 'SUM', eventType: type, valueProperty: '$.tokens' });
    assert.equal(r.status, 201, r.text);
  }
  assert.equal((await call(KG, 'POST', '/api/v1/meters', { slug: globexOnly, aggregation: 'COUNT', eventType: type })).status, 201);
  const t = '2024-02-05T10:00:00Z';
  await ingest(KA, [ce('ns-portal', 'p1', type, subject, t, { tokens: 10 }), ce('ns-portal', 'p2', type, 'other', t, { tokens: 100 })]);
  await ingest(KG, [ce('ns-portal', 'p1', type, subject, t, { tokens: 1000 })]);

  const token = async (key, body) => {
    const r = await call(key, 'POST', '/api/v1/portal/tokens', body);
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  const portal = (tok, p) => api(srv, 'GET', p, { headers: { authorization: `Bearer ${tok.token}` } });
  const range = 'from=2024-02-05T00:00:00Z&to=2024-02-06T00:00:00Z';
  const read = async (tok, s) => {
    const r = await eventually(async () => {
      const x = await portal(tok, `/api/v1/portal/meters/${s}/query?${range}`);
      return x.status === 503 ? null : x;
    }, { timeoutMs: 10_000, what: `the portal query of ${s}` });
    return r;
  };

  const acmeToken = await token(KA, { subject });
  let r = await read(acmeToken, slug);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.data.map((row) => row.value), [10], "acme's value for the subject, not globex's 1000");
  r = await read(acmeToken, globexOnly);
  assert.equal(r.status, 404, `a meter of globex only is unknown to an acme token: ${r.text}`);
  r = await portal(acmeToken, '/api/v1/portal/meters');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.some((m) => m.slug === slug) && !r.json.some((m) => m.slug === globexOnly), JSON.stringify(r.json));

  const globexToken = await token(KG, { subject });
  r = await read(globexToken, slug);
  assert.deepEqual(r.json.data.map((row) => row.value), [1000]);
  assert.equal((await read(globexToken, globexOnly)).status, 200);

  const listed = async (key) => (await ok(key, 'GET', '/api/v1/portal/tokens?limit=100')).map((x) => x.id);
  assert.ok((await listed(KA)).includes(acmeToken.id));
  assert.ok(!(await listed(KA)).includes(globexToken.id), "acme does not list globex's token");
  assert.ok(!(await listed(KG)).includes(acmeToken.id), "globex does not list acme's token");
  assert.ok(!(await listed(KD)).includes(acmeToken.id));

  // globex invalidating acme's token, by id or by subject, does not reach it.
  const inv = await call(KG, 'POST', '/api/v1/portal/tokens/invalidate', { id: acmeToken.id });
  assert.ok(inv.status === 204 || inv.status === 404, `${inv.status} ${inv.text}`);
  assert.equal((await call(KG, 'POST', '/api/v1/portal/tokens/invalidate', { subject })).status, 204);
  assert.equal((await read(acmeToken, slug)).status, 200, "acme's token still reads");
  assert.equal((await read(globexToken, slug)).status, 401, "globex's own token of that subject is invalidated");
});

test('keys: a wrong key is 401; /health and /ready need none; /metrics answers every key', T, async () => {
  for (const headers of [{}, { authorization: 'Bearer wrong-key' }, { 'x-api-key': 'wrong-key' },
    // The client presents the key alone, never `namespace:key`.
    { authorization: `Bearer acme:${KA}` }, { 'x-api-key': `globex:${KG}` }]) {
    for (const p of ['/v1/events', '/v1/usage/stats', '/api/v1/meters', '/metrics']) {
      const r = await api(srv, 'GET', p, { headers });
      assert.equal(r.status, 401, `${JSON.stringify(headers)} GET ${p}: ${r.text}`);
    }
  }
  for (const p of ['/health', '/ready']) assert.equal((await api(srv, 'GET', p)).status, 200, p);
  for (const key of [KA, KG, KD]) {
    const r = await call(key, 'GET', '/metrics');
    assert.equal(r.status, 200, `${key} /metrics: ${r.text}`);
    assert.match(r.text, /^http_requests_total\{/m);
  }
});

/** Runs the binary to completion (killed after timeoutMs); {code, signal, stdout, stderr, timedOut}. */
function runOnce(args, { env = {}, timeoutMs = 10_000 } = {}) {
  assertBinary();
  return new Promise((resolve) => {
    const child = spawn(binaryPath, args, { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** A refusal to start: exit 2, nothing on stdout, one JSON `startup error` line on stderr. */
async function assertRefused(args, env = {}) {
  const r = await runOnce(['--host', '127.0.0.1', '--port', String(await freePort()), '--data-dir', makeTempDir(), ...args], { env });
  const shown = `${args.join(' ')} ${JSON.stringify(env)}`;
  assert.equal(r.timedOut, false, `${shown}: the process must exit by itself`);
  assert.equal(r.code, 2, `${shown}: exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '', `${shown}: stdout is empty`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${shown}: one stderr line: ${r.stderr}`);
  const line = JSON.parse(lines[0]);
  assert.equal(line.level, 'error');
  assert.equal(line.message, 'startup error: invalid configuration');
  assert.match(line.timestamp, ISO_MS_Z);
  assert.equal(line.service, SERVICE);
  assert.equal(line.version, VERSION);
  assert.equal(typeof line.error, 'string');
  return line.error;
}

test('a bad namespace name, an empty key and one key in two namespaces exit 2', T, async () => {
  const bad = [
    [['--api-key', 'Bad Name:k1']],
    [['--api-key', 'UPPER:k1']],
    [['--api-key', '-acme:k1']],
    [['--api-key', `${'a'.repeat(41)}:k1`]],
    [['--api-key', ':k1']],
    [['--api-key', 'acme:']],
    [['--api-key', 'a:same-key', '--api-key', 'b:same-key']],
    [['--api-key', 'same-key', '--api-key', 'acme:same-key']],
    [[], { API_KEYS: 'acme:k1,globex:k1' }],
    [[], { API_KEYS: 'acme:k1,Bad Name:k2' }],
  ];
  for (const [args, env] of bad) {
    const error = await assertRefused(args, env);
    assert.match(error, /namespace|key/i, `${args.join(' ')}: the error names the problem: ${error}`);
  }
  // The longest name, and a key holding ':' written with its namespace, are fine.
  const s = await startServer({ args: ['--api-key', `${'a'.repeat(40)}:k-long`, '--api-key', 'default:k:with:colons'] });
  assert.equal((await api(s, 'GET', '/v1/events', { headers: { authorization: 'Bearer k-long' } })).status, 200);
  assert.equal((await api(s, 'GET', '/v1/events', { headers: { 'x-api-key': 'k:with:colons' } })).status, 200);
  assert.equal((await api(s, 'GET', '/v1/events', { headers: { 'x-api-key': 'with:colons' } })).status, 401);
  await s.stop();
});

test('after a restart each namespace still sees its own data only; a namespace without keys is kept, not served', { timeout: 60_000 }, async () => {
  const entity = uniq('ns-restart');
  const slug = slugOf('ns_restart');
  const type = slugOf('ns_rtype');
  const meterSubject = `${entity}-ce`;
  for (const [key, n, tokens] of [[KA, 3, 10], [KG, 1, 1]]) {
    await ok(key, 'POST', '/v1/events/batch', {
      events: Array.from({ length: n }, (_, i) => ({ id: `${entity}-${i}`, entityId: entity, eventType: 'ns_call', timestamp: '2024-02-06T10:00:00.000Z' })),
    });
    assert.equal((await call(key, 'POST', '/api/v1/meters', { slug, aggregation: 'SUM', eventType: type, valueProperty: '$.tokens' })).status, 201);
    await ingest(key, [ce('ns-restart', 'r1', type, meterSubject, '2024-02-06T10:00:00Z', { tokens })]);
  }
  const range = 'from=2024-02-06T00:00:00Z&to=2024-02-07T00:00:00Z';
  const check = async (label) => {
    assert.equal((await usage(KA, entity)).totalEvents, 3, `${label}: acme's usage`);
    assert.equal((await usage(KG, entity)).totalEvents, 1, `${label}: globex's usage`);
    assert.equal((await usage(KD, entity)).totalEvents, 0, `${label}: default's usage`);
    assert.deepEqual(await bySubject(KA, slug, range), [[meterSubject, 10]], `${label}: acme's meter`);
    assert.deepEqual(await bySubject(KG, slug, range), [[meterSubject, 1]], `${label}: globex's meter`);
    assert.equal((await call(KD, 'GET', `/api/v1/meters/${slug}`)).status, 404, `${label}: default has no such meter`);
    assert.equal((await listAllEvents(srv, entity, { headers: auth(KA) })).total, 3);
    assert.equal((await listAllEvents(srv, entity, { headers: auth(KG) })).total, 1);
  };
  await check('before the restart');

  assert.equal(await srv.stop(), 0, `SIGTERM exit; stderr: ${srv.stderr}`);
  srv = await startServer({ dataDir, args: ARGS });
  await check('after a restart');
  // Ids stay taken.
  const dup = await call(KA, 'POST', '/v1/events', { id: `${entity}-0`, entityId: entity, eventType: 'ns_call' });
  assert.equal(dup.status, 200, dup.text);

  // Without acme's key the service serves globex and default only; acme's data stays.
  await srv.kill9();
  srv = await startServer({ dataDir, args: ['--api-key', `globex:${KG}`, '--api-key', KD] });
  assert.equal((await call(KA, 'GET', `/v1/usage/${entity}`)).status, 401, 'acme\'s key is gone');
  assert.equal((await usage(KG, entity)).totalEvents, 1);
  assert.equal((await usage(KD, entity)).totalEvents, 0, 'acme\'s data did not move to default');
  await srv.stop();
  // Given a key again (another one), acme is served with its data.
  srv = await startServer({ dataDir, args: [...ARGS, '--api-key', 'acme:ns-itest-acme-new-key'] });
  await check('acme served again');
  const newKey = await api(srv, 'GET', `/v1/usage/${entity}?${ALL}`, { headers: { 'x-api-key': 'ns-itest-acme-new-key' } });
  assert.equal(newKey.json?.data?.totalEvents, 3, `a second key of acme reads acme: ${newKey.text}`);
});

test('a data dir written without keys is the default namespace of a service with keys', T, async () => {
  const dir = makeTempDir('usage-metrics-ns-legacy-');
  const entity = uniq('ns-legacy');
  const old = await startServer({ dataDir: dir });
  for (let i = 0; i < 3; i++) {
    const r = await api(old, 'POST', '/v1/events', { body: { id: `${entity}-${i}`, entityId: entity, eventType: 'legacy', timestamp: '2024-02-07T10:00:00.000Z' } });
    assert.equal(r.status, 201, r.text);
  }
  const meter = await api(old, 'POST', '/api/v1/meters', { body: { slug: 'ns_legacy_calls', aggregation: 'COUNT', eventType: 'legacy' } });
  assert.equal(meter.status, 201, meter.text);
  const subject = await api(old, 'POST', '/api/v1/subjects', { body: [{ key: entity, displayName: 'Legacy' }] });
  assert.equal(subject.status, 200, subject.text);
  assert.equal(await old.stop(), 0);

  // Embedded: the same data dir; PostgreSQL: the same database (the harness maps a
  // data dir to its database).
  const s = await startServer({ dataDir: dir, args: ['--api-key', 'default-key', '--api-key', `acme:${KA}`] });
  const dflt = { authorization: 'Bearer default-key' };
  const get = (key, p) => api(s, 'GET', p, { headers: key === KA ? auth(KA) : dflt });
  const listed = await listAllEvents(s, entity, { headers: dflt });
  assert.deepEqual(listed.events.map((e) => e.id).sort(), [0, 1, 2].map((i) => `${entity}-${i}`));
  assert.equal((await get('d', `/v1/usage/${entity}?${ALL}`)).json.data.totalEvents, 3);
  assert.equal((await get('d', '/api/v1/meters/ns_legacy_calls')).status, 200);
  assert.equal((await get('d', `/api/v1/subjects/${entity}`)).status, 200);
  const range = 'from=2024-02-07T00:00:00Z&to=2024-02-08T00:00:00Z';
  assert.deepEqual(await bySubject('default-key', 'ns_legacy_calls', range, s), [[entity, 3]]);

  assert.equal((await listAllEvents(s, entity, { headers: auth(KA) })).total, 0, 'acme sees none of them');
  assert.equal((await get(KA, `/v1/usage/${entity}?${ALL}`)).json.data.totalEvents, 0);
  assert.equal((await get(KA, '/api/v1/meters/ns_legacy_calls')).status, 404);
  assert.equal((await get(KA, `/api/v1/subjects/${entity}`)).status, 404);
  // An old id is new in acme.
  const r = await api(s, 'POST', '/v1/events', { body: { id: `${entity}-0`, entityId: entity, eventType: 'legacy' }, headers: auth(KA) });
  assert.equal(r.status, 201, r.text);
  if (backend !== 'postgres') {
    assert.ok(existsSync(path.join(dir, 'namespaces', 'acme')), 'acme\'s store is <data-dir>/namespaces/acme');
    assert.ok(!existsSync(path.join(dir, 'namespaces', 'default')), 'default stays where it was');
  }
});

test('--meters: a meter with `namespace:` is created in that namespace only; a namespace no key serves is refused', T, async () => {
  const dir = makeTempDir('usage-metrics-ns-meters-');
  const file = path.join(dir, 'meters.yaml');
  writeFileSync(file, `meters:
  - slug: ns_file_tokens
    namespace: acme
    eventType: ns_file
    aggregation: SUM
    valueProperty: $.tokens
  - slug: ns_file_calls
    eventType: ns_file
    aggregation: COUNT
`);
  // API_KEYS this time, with a default key holding ':' (written with its namespace).
  const s = await startServer({ dataDir: path.join(dir, 'data'), args: ['--meters', file], env: { API_KEYS: `acme:${KA}, default:d:colon` } });
  const D = 'd:colon';
  const get = (key, p) => api(s, 'GET', p, { headers: { 'x-api-key': key } });
  const tokens = await get(KA, '/api/v1/meters/ns_file_tokens');
  assert.equal(tokens.status, 200, tokens.text);
  assert.equal(tokens.json.id, 'ns_file_tokens');
  assert.equal((await get(KA, '/api/v1/meters/ns_file_calls')).status, 404, 'the entry without namespace is in default');
  assert.equal((await get(D, '/api/v1/meters/ns_file_tokens')).status, 404);
  assert.equal((await get(D, '/api/v1/meters/ns_file_calls')).status, 200);
  await ingest(KA, [ce('ns-file', 'f1', 'ns_file', 'cust', '2024-02-08T10:00:00Z', { tokens: 4 })], s);
  assert.deepEqual(await bySubject(KA, 'ns_file_tokens', 'from=2024-02-08T00:00:00Z&to=2024-02-09T00:00:00Z', s), [['cust', 4]]);
  await s.stop();

  const unserved = path.join(dir, 'unserved.yaml');
  writeFileSync(unserved, `meters:
  - slug: ns_file_calls
    namespace: globex
    eventType: ns_file
    aggregation: COUNT
`);
  let error = await assertRefused(['--meters', unserved, '--api-key', `acme:${KA}`]);
  assert.match(error, /globex/, error);
  // Without keys only default is served.
  error = await assertRefused(['--meters', unserved]);
  assert.match(error, /globex/, error);
  writeFileSync(unserved, `meters:
  - slug: ns_file_calls
    namespace: Bad Name
    eventType: ns_file
    aggregation: COUNT
`);
  await assertRefused(['--meters', unserved, '--api-key', `acme:${KA}`]);
});
