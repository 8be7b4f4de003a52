// Events: POST /v1/events (shape, trimming, every validation message, boundaries), the
// extensions (client id idempotency, client timestamp, POST /v1/events/batch), GET
// /v1/events (order, filters, limit/offset validation, pagination) and self-tracking.
//
// Self-tracking stores an api-self event for most requests, so every assertion filters by a
// unique entityId.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, api, assertError, postEvent, uniq, sleep, eventually,
  ISO_MS_Z, UUID_ANY, START_TIMEOUT_MS,
} from './lib/server.mjs';

const T = { timeout: 15_000 };
let srv;

before(async () => {
  srv = await startServer();
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

function assertEventShape(e, label = 'event') {
  assert.deepEqual(Object.keys(e).sort(), ['createdAt', 'entityId', 'eventType', 'id', 'metadata', 'timestamp'],
    `${label} keys: ${JSON.stringify(e)}`);
  assert.equal(typeof e.id, 'string');
  assert.equal(typeof e.entityId, 'string');
  assert.equal(typeof e.eventType, 'string');
  assert.ok(e.metadata && typeof e.metadata === 'object' && !Array.isArray(e.metadata), `${label} metadata`);
  assert.match(e.timestamp, ISO_MS_Z, `${label} timestamp`);
  assert.ok(Number.isInteger(e.createdAt), `${label} createdAt is an integer epoch ms: ${e.createdAt}`);
}

async function usageTotal(entityId) {
  const r = await api(srv, 'GET', `/v1/usage/${encodeURIComponent(entityId)}?since=${encodeURIComponent('1970-01-01T00:00:00.000Z')}`);
  assert.equal(r.status, 200, r.text);
  return r.json.data.totalEvents;
}

async function listEvents(query) {
  const r = await api(srv, 'GET', `/v1/events?${new URLSearchParams(query)}`);
  assert.equal(r.status, 200, r.text);
  return r.json.data;
}

// ---------------------------------------------------------------- POST /v1/events

test('POST /v1/events → 201 with the exact response shape', T, async () => {
  const entityId = uniq('shape');
  const before = Date.now();
  const r = await postEvent(srv, { entityId, eventType: 'api_call', metadata: { a: 1 } });
  const afterT = Date.now();
  assert.equal(r.status, 201, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(Object.keys(r.json), ['success', 'data']);
  assert.equal(r.json.success, true);
  const e = r.json.data;
  assertEventShape(e);
  assert.match(e.id, UUID_ANY);
  assert.equal(e.entityId, entityId);
  assert.equal(e.eventType, 'api_call');
  assert.deepEqual(e.metadata, { a: 1 });
  assert.ok(e.createdAt >= before - 1000 && e.createdAt <= afterT + 1000, `createdAt ${e.createdAt} is now`);
  assert.ok(Math.abs(Date.parse(e.timestamp) - e.createdAt) < 1000, 'timestamp is the store time without a client timestamp');
});

test('two events get different ids', T, async () => {
  const entityId = uniq('ids');
  const a = await postEvent(srv, { entityId, eventType: 't' });
  const b = await postEvent(srv, { entityId, eventType: 't' });
  assert.notEqual(a.json.data.id, b.json.data.id);
});

test('entityId and eventType are trimmed', T, async () => {
  const entityId = uniq('trim');
  const r = await postEvent(srv, { entityId: `  ${entityId}\t `, eventType: '\n click  ' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.data.entityId, entityId);
  assert.equal(r.json.data.eventType, 'click');
  const list = await listEvents({ entityId });
  assert.equal(list.pagination.total, 1);
});

test('metadata defaults to {} and nested metadata round-trips', T, async () => {
  const entityId = uniq('meta');
  const d = await postEvent(srv, { entityId, eventType: 't' });
  assert.deepEqual(d.json.data.metadata, {});
  const meta = {
    s: 'text with "quotes" and ünïcødé ✓', n: 1.5, i: -42, big: 9007199254740991, t: true, f: false,
    nul: null, arr: [1, 'two', { three: 3 }], nested: { deep: { deeper: ['x'] } }, empty: {},
  };
  const r = await postEvent(srv, { entityId, eventType: 't', metadata: meta });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.json.data.metadata, meta);
  const list = await listEvents({ entityId });
  const stored = list.events.find((e) => e.id === r.json.data.id);
  assert.deepEqual(stored.metadata, meta);
});

test('unknown body fields are ignored', T, async () => {
  const entityId = uniq('extra');
  const r = await postEvent(srv, { entityId, eventType: 't', color: 'blue' });
  assert.equal(r.status, 201, r.text);
  assertEventShape(r.json.data);
});

const A255 = 'a'.repeat(255);
const T100 = 't'.repeat(100);

const validation = [
  ['{}', {}, 'entityId is required, eventType is required'],
  ['missing entityId', { eventType: 't' }, 'entityId is required'],
  ['missing eventType', { entityId: 'e' }, 'eventType is required'],
  ['empty entityId', { entityId: '', eventType: 't' }, 'entityId is required'],
  ['whitespace-only entityId', { entityId: ' \t\n ', eventType: 't' }, 'entityId is required'],
  ['empty eventType', { entityId: 'e', eventType: '' }, 'eventType is required'],
  ['whitespace-only eventType', { entityId: 'e', eventType: '   ' }, 'eventType is required'],
  ['numeric entityId', { entityId: 5, eventType: 't' }, 'entityId must be a string'],
  ['boolean entityId', { entityId: true, eventType: 't' }, 'entityId must be a string'],
  ['object entityId', { entityId: { a: 1 }, eventType: 't' }, 'entityId must be a string'],
  ['array entityId', { entityId: ['a'], eventType: 't' }, 'entityId must be a string'],
  ['numeric eventType', { entityId: 'e', eventType: 7 }, 'eventType must be a string'],
  ['object eventType', { entityId: 'e', eventType: {} }, 'eventType must be a string'],
  ['256-char entityId', { entityId: 'a'.repeat(256), eventType: 't' }, 'entityId must be 255 characters or less'],
  ['101-char eventType', { entityId: 'e', eventType: 't'.repeat(101) }, 'eventType must be 100 characters or less'],
  ['256 chars after trimming', { entityId: ` ${'a'.repeat(256)} `, eventType: 't' }, 'entityId must be 255 characters or less'],
  ['string metadata', { entityId: 'e', eventType: 't', metadata: 'x' }, 'metadata must be an object'],
  ['numeric metadata', { entityId: 'e', eventType: 't', metadata: 5 }, 'metadata must be an object'],
  ['array metadata', { entityId: 'e', eventType: 't', metadata: [1, 2] }, 'metadata must be an object'],
  ['null metadata', { entityId: 'e', eventType: 't', metadata: null }, 'metadata must be an object'],
  ['three errors in field order', { metadata: [], eventType: 9, entityId: 'a'.repeat(300) },
    'entityId must be 255 characters or less, eventType must be a string, metadata must be an object'],
  ['required + too long + metadata', { entityId: '  ', eventType: 'x'.repeat(101), metadata: 'm' },
    'entityId is required, eventType must be 100 characters or less, metadata must be an object'],
  ['string + required', { entityId: 1, metadata: {} }, 'entityId must be a string, eventType is required'],
];

for (const [label, body, message] of validation) {
  test(`validation: ${label} → 400 "${message}"`, T, async () => {
    const r = await postEvent(srv, body);
    assertError(r, 400, 'VALIDATION_ERROR', message);
  });
}

test('boundaries: entityId of 255 and eventType of 100 characters are accepted', T, async () => {
  const r = await postEvent(srv, { entityId: A255, eventType: T100 });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.data.entityId, A255);
  assert.equal(r.json.data.eventType, T100);
});

test('boundaries: the trimmed length counts (255 + surrounding spaces is accepted)', T, async () => {
  const id = 'b'.repeat(255);
  const r = await postEvent(srv, { entityId: `   ${id}   `, eventType: `  ${'u'.repeat(100)}  ` });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.data.entityId, id);
});

test('lengths count characters, not UTF-8 bytes (255 × "é" is accepted, 256 is not)', T, async () => {
  const ok = await postEvent(srv, { entityId: 'é'.repeat(255), eventType: 'ü'.repeat(100) });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.data.entityId, 'é'.repeat(255));
  const bad = await postEvent(srv, { entityId: 'é'.repeat(256), eventType: 't' });
  assertError(bad, 400, 'VALIDATION_ERROR', 'entityId must be 255 characters or less');
});

// ---------------------------------------------------------------- extension: client id

test('extension: client id → 201 first, 200 with the same stored event on repeat, counted once', T, async () => {
  const entityId = uniq('idem');
  const id = uniq('client-id');
  const body = { id, entityId, eventType: 'purchase', metadata: { amount: 3 } };
  const first = await postEvent(srv, body);
  assert.equal(first.status, 201, first.text);
  assertEventShape(first.json.data);
  assert.equal(first.json.data.id, id, 'the client id is the event id');
  await sleep(20);
  const again = await postEvent(srv, body);
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.json, first.json, 'the repeat answers the stored event');
  // A repeat with different content still answers the stored (first) event.
  const changed = await postEvent(srv, { id, entityId, eventType: 'purchase', metadata: { amount: 99 }, timestamp: '2020-01-01T00:00:00.000Z' });
  assert.equal(changed.status, 200, changed.text);
  assert.deepEqual(changed.json.data, first.json.data);
  const list = await listEvents({ entityId });
  assert.equal(list.pagination.total, 1);
  assert.deepEqual(list.events[0], first.json.data);
  assert.equal(await usageTotal(entityId), 1);
});

test('extension: concurrent repeats of one client id store it once', T, async () => {
  const entityId = uniq('idem-race');
  const id = uniq('client-id');
  const results = await Promise.all(Array.from({ length: 10 }, () => postEvent(srv, { id, entityId, eventType: 't' })));
  const statuses = results.map((r) => r.status).sort();
  assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses ${statuses}`);
  assert.equal(statuses.filter((s) => s === 200).length, 9, `statuses ${statuses}`);
  for (const r of results) assert.deepEqual(r.json.data, results[0].json.data);
  assert.equal((await listEvents({ entityId })).pagination.total, 1);
  assert.equal(await usageTotal(entityId), 1);
});

// ---------------------------------------------------------------- extension: client timestamp

test('extension: client timestamp is stored as timestamp; createdAt is now', T, async () => {
  const entityId = uniq('ts');
  const ts = '2024-01-15T10:30:00.123Z';
  const r = await postEvent(srv, { entityId, eventType: 't', timestamp: ts });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.data.timestamp, ts);
  assert.ok(Math.abs(r.json.data.createdAt - Date.now()) < 10_000, 'createdAt is the store time');
});

test('extension: client timestamps are normalised to UTC with milliseconds', T, async () => {
  const entityId = uniq('ts');
  for (const [given, stored] of [
    ['2024-01-15T12:30:00.123+02:00', '2024-01-15T10:30:00.123Z'],
    ['2024-01-15T10:30:00Z', '2024-01-15T10:30:00.000Z'],
  ]) {
    const r = await postEvent(srv, { entityId, eventType: 't', timestamp: given });
    assert.equal(r.status, 201, `${given}: ${r.text}`);
    assert.equal(r.json.data.timestamp, stored, given);
  }
});

for (const bad of ['yesterday', '2024-13-01T00:00:00.000Z', '2024-01-15T25:00:00.000Z', '', 1705314600000, {}]) {
  test(`extension: invalid timestamp ${JSON.stringify(bad)} → 400 mentioning timestamp`, T, async () => {
    const r = await postEvent(srv, { entityId: uniq('ts'), eventType: 't', timestamp: bad });
    assertError(r, 400, 'VALIDATION_ERROR');
    assert.match(r.json.error.message, /timestamp/);
  });
}

// ---------------------------------------------------------------- extension: batch

test('extension: POST /v1/events/batch → 201 with every stored event, in order', T, async () => {
  const entityId = uniq('batch');
  const events = [
    { entityId, eventType: 'a', metadata: { n: 0 } },
    { entityId: `  ${entityId} `, eventType: 'b' },
    { entityId, eventType: 'c', id: uniq('bid'), timestamp: '2024-05-01T00:00:00.000Z' },
  ];
  const r = await api(srv, 'POST', '/v1/events/batch', { body: { events } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.success, true);
  const out = r.json.data.events;
  assert.equal(out.length, 3);
  out.forEach((e, i) => assertEventShape(e, `events[${i}]`));
  assert.deepEqual(out.map((e) => e.eventType), ['a', 'b', 'c']);
  assert.equal(out[1].entityId, entityId, 'trimmed in a batch too');
  assert.deepEqual(out[0].metadata, { n: 0 });
  assert.deepEqual(out[1].metadata, {});
  assert.equal(out[2].id, events[2].id);
  assert.equal(out[2].timestamp, '2024-05-01T00:00:00.000Z');
  assert.equal((await listEvents({ entityId })).pagination.total, 3);
});

test('extension: a batch with an invalid event → 400 naming its index, and nothing is stored', T, async () => {
  const entityId = uniq('batch-bad');
  const r = await api(srv, 'POST', '/v1/events/batch', {
    body: { events: [{ entityId, eventType: 'a' }, { eventType: 'b' }, { entityId, eventType: 'c' }] },
  });
  assertError(r, 400, 'VALIDATION_ERROR');
  assert.match(r.json.error.message, /events\[1\]: entityId is required/);
  assert.doesNotMatch(r.json.error.message, /events\[0\]|events\[2\]/);
  assert.equal((await listEvents({ entityId })).pagination.total, 0);
});

test('extension: a batch names every invalid index with its messages', T, async () => {
  const entityId = uniq('batch-bad');
  const r = await api(srv, 'POST', '/v1/events/batch', {
    body: { events: [{}, { entityId, eventType: 'ok' }, { entityId, eventType: 't', metadata: [] }] },
  });
  assertError(r, 400, 'VALIDATION_ERROR');
  assert.match(r.json.error.message, /events\[0\]: entityId is required, eventType is required/);
  assert.match(r.json.error.message, /events\[2\]: metadata must be an object/);
  assert.equal((await listEvents({ entityId })).pagination.total, 0);
});

test('extension: a batch of 1000 is accepted, 1001 → 400 and nothing stored', T, async () => {
  const entityId = uniq('batch-size');
  const ok = await api(srv, 'POST', '/v1/events/batch', {
    body: { events: Array.from({ length: 1000 }, (_, i) => ({ entityId, eventType: 'n', metadata: { i } })) },
    timeoutMs: 10_000,
  });
  assert.equal(ok.status, 201, ok.text.slice(0, 200));
  assert.equal(ok.json.data.events.length, 1000);
  assert.deepEqual(ok.json.data.events.map((e) => e.metadata.i), Array.from({ length: 1000 }, (_, i) => i));

  const other = uniq('batch-size');
  const tooMany = await api(srv, 'POST', '/v1/events/batch', {
    body: { events: Array.from({ length: 1001 }, () => ({ entityId: other, eventType: 'n' })) },
    timeoutMs: 10_000,
  });
  assertError(tooMany, 400, 'VALIDATION_ERROR');
  assert.equal((await listEvents({ entityId: other })).pagination.total, 0);
});

for (const [label, body] of [
  ['no events field', {}],
  ['events not an array', { events: { entityId: 'a', eventType: 'b' } }],
  ['a bare array', [{ entityId: 'a', eventType: 'b' }]],
]) {
  test(`extension: batch with ${label} → 400 VALIDATION_ERROR`, T, async () => {
    assertError(await api(srv, 'POST', '/v1/events/batch', { body }), 400, 'VALIDATION_ERROR');
  });
}

test('extension: a batch repeating stored client ids stores them once', T, async () => {
  const entityId = uniq('batch-idem');
  const events = [0, 1, 2].map((i) => ({ id: `${entityId}-${i}`, entityId, eventType: 't' }));
  const a = await api(srv, 'POST', '/v1/events/batch', { body: { events } });
  assert.equal(a.status, 201, a.text);
  const b = await api(srv, 'POST', '/v1/events/batch', { body: { events } });
  assert.equal(b.status, 201, `a batch answers 201 (docs/API.md), repeated ids included: ${b.text}`);
  assert.deepEqual(b.json.data.events, a.json.data.events, 'the repeat answers the stored events');
  assert.equal((await listEvents({ entityId })).pagination.total, 3);
  assert.equal(await usageTotal(entityId), 3);
});

// ---------------------------------------------------------------- GET /v1/events

test('GET /v1/events: newest first, exact entityId and eventType filters', T, async () => {
  const entityId = uniq('list');
  const ids = [];
  for (const type of ['click', 'clicks', 'click', 'view', 'click']) {
    const r = await postEvent(srv, { entityId, eventType: type });
    ids.push(r.json.data.id);
    await sleep(3);
  }
  await postEvent(srv, { entityId: `${entityId}-other`, eventType: 'click' });
  await postEvent(srv, { entityId: entityId.slice(0, -1), eventType: 'click' });

  const all = await listEvents({ entityId });
  assert.equal(all.pagination.total, 5);
  assert.deepEqual(all.events.map((e) => e.id), [...ids].reverse());
  for (const e of all.events) assertEventShape(e);

  const clicks = await listEvents({ entityId, eventType: 'click' });
  assert.deepEqual(clicks.events.map((e) => e.id), [ids[4], ids[2], ids[0]]);
  assert.equal(clicks.pagination.total, 3);

  const byType = await listEvents({ eventType: 'clicks', entityId });
  assert.deepEqual(byType.events.map((e) => e.id), [ids[1]]);
});

test('GET /v1/events: newest first by event timestamp for backfilled events', T, async () => {
  const entityId = uniq('list-ts');
  const a = await postEvent(srv, { entityId, eventType: 't', timestamp: '2024-01-02T00:00:00.000Z' });
  const b = await postEvent(srv, { entityId, eventType: 't', timestamp: '2024-01-03T00:00:00.000Z' });
  const c = await postEvent(srv, { entityId, eventType: 't', timestamp: '2024-01-01T00:00:00.000Z' });
  const list = await listEvents({ entityId });
  assert.deepEqual(list.events.map((e) => e.id), [b.json.data.id, a.json.data.id, c.json.data.id]);
});

test('GET /v1/events: defaults limit 100, offset 0; response shape', T, async () => {
  const r = await api(srv, 'GET', '/v1/events');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json), ['success', 'data']);
  assert.equal(r.json.success, true);
  assert.deepEqual(Object.keys(r.json.data).sort(), ['events', 'pagination']);
  const p = r.json.data.pagination;
  assert.deepEqual(Object.keys(p).sort(), ['hasMore', 'limit', 'offset', 'total']);
  assert.equal(p.limit, 100);
  assert.equal(p.offset, 0);
  assert.ok(r.json.data.events.length <= 100);
  assert.equal(p.hasMore, p.offset + p.limit < p.total);
});

test('GET /v1/events: pagination total/limit/offset/hasMore', T, async () => {
  const entityId = uniq('page');
  const ids = [];
  for (let i = 0; i < 5; i++) {
    ids.push((await postEvent(srv, { entityId, eventType: 't', timestamp: `2024-02-0${i + 1}T00:00:00.000Z` })).json.data.id);
  }
  const newestFirst = [...ids].reverse();
  const cases = [
    [{ limit: 2, offset: 0 }, newestFirst.slice(0, 2), true],
    [{ limit: 2, offset: 2 }, newestFirst.slice(2, 4), true],
    [{ limit: 2, offset: 3 }, newestFirst.slice(3, 5), false],
    [{ limit: 2, offset: 4 }, newestFirst.slice(4), false],
    [{ limit: 5, offset: 0 }, newestFirst, false],
    [{ limit: 1000, offset: 0 }, newestFirst, false],
    [{ limit: 3, offset: 10 }, [], false],
  ];
  for (const [q, want, hasMore] of cases) {
    const d = await listEvents({ entityId, limit: String(q.limit), offset: String(q.offset) });
    assert.deepEqual(d.events.map((e) => e.id), want, JSON.stringify(q));
    assert.deepEqual(d.pagination, { total: 5, limit: q.limit, offset: q.offset, hasMore }, JSON.stringify(q));
  }
});

for (const bad of ['0', '1001', 'abc', '-1']) {
  test(`GET /v1/events?limit=${bad} → 400 "limit must be between 1 and 1000"`, T, async () => {
    assertError(await api(srv, 'GET', `/v1/events?limit=${bad}`), 400, 'VALIDATION_ERROR', 'limit must be between 1 and 1000');
  });
}

for (const bad of ['-1', 'abc']) {
  test(`GET /v1/events?offset=${bad} → 400 "offset must be 0 or greater"`, T, async () => {
    assertError(await api(srv, 'GET', `/v1/events?offset=${bad}`), 400, 'VALIDATION_ERROR', 'offset must be 0 or greater');
  });
}

test('GET /v1/events with both limit and offset invalid → both messages joined', T, async () => {
  assertError(await api(srv, 'GET', '/v1/events?limit=0&offset=-5'), 400, 'VALIDATION_ERROR',
    'limit must be between 1 and 1000, offset must be 0 or greater');
});

test('GET /v1/events accepts raw reserved characters in query values (entityId=org:42/user@x)', T, async () => {
  const entityId = `${uniq('raw')}:org:42/user@x`;
  const r = await postEvent(srv, { entityId, eventType: 't' });
  assert.equal(r.status, 201);
  const res = await api(srv, 'GET', `/v1/events?entityId=${entityId}`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.pagination.total, 1);
});

test('GET /v1/events decodes percent-encoded query values', T, async () => {
  const entityId = `${uniq('enc')} user@example.com/ü`;
  const r = await postEvent(srv, { entityId, eventType: 'a b' });
  assert.equal(r.status, 201);
  const d = await listEvents({ entityId, eventType: 'a b' });
  assert.equal(d.pagination.total, 1);
  assert.equal(d.events[0].entityId, entityId);
});

// ---------------------------------------------------------------- self-tracking

test('self-tracking: requests are stored as api-self/api_call events with {method, path, statusCode, duration, traceId}', T, async () => {
  const traced = [];
  for (const [m, p, body] of [
    ['GET', '/v1/events?entityId=self-probe'],
    ['POST', '/v1/events', { entityId: uniq('self'), eventType: 't' }],
    ['GET', '/nope-self'],
  ]) {
    const traceId = uniq('self');
    const r = await api(srv, m, p, { body, headers: { 'x-trace-id': traceId } });
    traced.push({ traceId, m, p: p.split('?')[0], status: r.status });
  }
  const found = await eventually(async () => {
    const d = await listEvents({ entityId: 'api-self', eventType: 'api_call', limit: '1000' });
    const byTrace = new Map(d.events.map((e) => [e.metadata?.traceId, e]));
    return traced.every((t) => byTrace.has(t.traceId)) ? byTrace : null;
  }, { timeoutMs: 10_000, what: 'every traced request has an api-self event' });
  for (const t of traced) {
    const e = found.get(t.traceId);
    assert.equal(e.entityId, 'api-self');
    assert.equal(e.eventType, 'api_call');
    assert.deepEqual(Object.keys(e.metadata).sort(), ['duration', 'method', 'path', 'statusCode', 'traceId']);
    assert.equal(e.metadata.method, t.m);
    assert.equal(e.metadata.path.split('?')[0], t.p);
    assert.equal(e.metadata.statusCode, t.status);
    assert.equal(typeof e.metadata.duration, 'number');
  }
});

test('self-tracking: GET /health and GET /ready are not tracked; GET /v1/usage/api-self counts the rest', T, async () => {
  const hTrace = uniq('self-h');
  const rTrace = uniq('self-r');
  await api(srv, 'GET', '/health', { headers: { 'x-trace-id': hTrace } });
  await api(srv, 'GET', '/ready', { headers: { 'x-trace-id': rTrace } });
  const q = `/v1/usage/api-self?since=${encodeURIComponent('1970-01-01T00:00:00.000Z')}`;
  const before0 = (await api(srv, 'GET', q)).json.data.totalEvents;
  const markers = [uniq('self-m'), uniq('self-m'), uniq('self-m')];
  for (const m of markers) await api(srv, 'GET', '/', { headers: { 'x-trace-id': m } });
  // Tracking is written after the answer, by the group commit: wait for the
  // markers themselves (a count could grow by the tracked polls alone).
  let traces = new Set();
  await eventually(async () => {
    const d = await listEvents({ entityId: 'api-self', limit: '1000' });
    traces = new Set(d.events.map((e) => e.metadata?.traceId));
    return markers.every((m) => traces.has(m));
  }, { timeoutMs: 10_000, what: 'the three marked requests tracked' });
  const grown = (await api(srv, 'GET', q)).json.data;
  assert.ok(grown.totalEvents >= before0 + 3, 'api-self usage counts the tracked requests');
  assert.equal(typeof grown.byEventType.api_call, 'number');
  for (const m of markers) assert.ok(traces.has(m), `marker ${m} tracked`);
  assert.ok(!traces.has(hTrace), 'GET /health is not tracked');
  assert.ok(!traces.has(rTrace), 'GET /ready is not tracked');
});
