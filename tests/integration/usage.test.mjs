// Usage: GET /v1/usage/stats, GET /v1/usage/:entityId (since/until inclusive to the
// millisecond, defaults), GET /v1/usage/:entityId/history (UTC-aligned buckets). Client
// timestamps (extension) place events exactly on the bounds.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, api, assertError, postEvent, uniq, eventually, encodeQuery, ISO_MS_Z,
  START_TIMEOUT_MS,
} from './lib/server.mjs';

const T = { timeout: 15_000 };
let srv;

before(async () => {
  srv = await startServer();
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

async function post(entityId, eventType, timestamp) {
  const body = { entityId, eventType };
  if (timestamp) body.timestamp = timestamp;
  const r = await postEvent(srv, body);
  assert.equal(r.status, 201, r.text);
  return r.json.data;
}

// Query values are percent-encoded here; raw colons in since/until have a test of their own.
async function get(path) {
  const r = await api(srv, 'GET', encodeQuery(path));
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json.data;
}

const iso = (ms) => new Date(ms).toISOString();
const enc = encodeURIComponent;

// ---------------------------------------------------------------- stats

test('GET /v1/usage/stats has the contract shape', T, async () => {
  const r = await api(srv, 'GET', '/v1/usage/stats');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json), ['success', 'data']);
  assert.equal(r.json.success, true);
  const d = r.json.data;
  assert.deepEqual(Object.keys(d).sort(),
    ['eventTypes', 'eventsLastHour', 'startTime', 'totalEvents', 'uniqueEntities', 'uptime']);
  for (const k of ['totalEvents', 'eventsLastHour', 'uniqueEntities']) {
    assert.ok(Number.isInteger(d[k]) && d[k] >= 0, `${k} = ${d[k]}`);
  }
  assert.ok(d.eventsLastHour <= d.totalEvents);
  assert.equal(typeof d.eventTypes, 'object');
  assert.ok(Number.isInteger(d.uptime.ms) && d.uptime.ms >= 0);
  assert.match(d.uptime.human, /^(\d+d \d+h|\d+h \d+m|\d+m \d+s|\d+s)$/);
  assert.match(d.startTime, ISO_MS_Z);
  assert.ok(Date.parse(d.startTime) <= Date.now() + 1000);
  assert.ok(Math.abs(Date.now() - Date.parse(d.startTime) - d.uptime.ms) < 5000, 'startTime + uptime ≈ now');
  const sum = Object.values(d.eventTypes).reduce((a, b) => a + b, 0);
  assert.equal(sum, d.totalEvents, `eventTypes add up to totalEvents: ${JSON.stringify(d)}`);
});

test('stats count event types and unique entities', T, async () => {
  // Make sure api-self already exists so that it does not appear during the measurement.
  await api(srv, 'GET', '/');
  await eventually(async () => (await get('/v1/usage/api-self?since=1970-01-01T00:00:00.000Z')).totalEvents > 0,
    { timeoutMs: 10_000, what: 'api-self has a tracked request' });
  const type = uniq('stats-type');
  const before0 = await get('/v1/usage/stats');
  await post(uniq('stats-e'), type);
  await post(uniq('stats-e'), type);
  await post(uniq('stats-e'), type, '2024-01-01T00:00:00.000Z');
  const after0 = await get('/v1/usage/stats');
  assert.equal(after0.eventTypes[type], 3);
  assert.equal(after0.uniqueEntities - before0.uniqueEntities, 3);
  assert.ok(after0.totalEvents >= before0.totalEvents + 3);
  assert.equal(before0.eventTypes[type], undefined);
});

test('"stats" is reserved: an entity named stats does not change GET /v1/usage/stats', T, async () => {
  await post('stats', 'reserved');
  const d = await get('/v1/usage/stats');
  assert.ok('startTime' in d && 'eventTypes' in d, `stats document: ${JSON.stringify(d)}`);
  assert.ok(!('entityId' in d));
});

// ---------------------------------------------------------------- per entity

test('GET /v1/usage/:entityId counts by event type; shape and defaults', T, async () => {
  const entityId = uniq('usage');
  await post(entityId, 'login');
  await post(entityId, 'login');
  await post(entityId, 'purchase');
  const r = await api(srv, 'GET', `/v1/usage/${entityId}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json), ['success', 'data']);
  const d = r.json.data;
  assert.deepEqual(Object.keys(d).sort(), ['byEventType', 'entityId', 'period', 'totalEvents']);
  assert.equal(d.entityId, entityId);
  assert.equal(d.totalEvents, 3);
  assert.deepEqual(d.byEventType, { login: 2, purchase: 1 });
  const stats = await get('/v1/usage/stats');
  assert.equal(d.period.since, stats.startTime, 'missing since reports the service start time');
  assert.match(d.period.until, ISO_MS_Z);
  assert.ok(Math.abs(Date.parse(d.period.until) - Date.now()) < 5000, 'missing until reports now');
});

test('an unknown entity → 200 with totalEvents 0 and byEventType {}', T, async () => {
  const entityId = uniq('nobody');
  const d = await get(`/v1/usage/${entityId}`);
  assert.equal(d.entityId, entityId);
  assert.equal(d.totalEvents, 0);
  assert.deepEqual(d.byEventType, {});
  assert.match(d.period.since, ISO_MS_Z);
  assert.match(d.period.until, ISO_MS_Z);
});

test('percent-encoded entity ids in the path are decoded', T, async () => {
  const entityId = `${uniq('enc')} user@example.com ü`;
  await post(entityId, 't');
  const d = await get(`/v1/usage/${enc(entityId)}`);
  assert.equal(d.entityId, entityId);
  assert.equal(d.totalEvents, 1);
  const h = await get(`/v1/usage/${enc(entityId)}/history?interval=day`);
  assert.equal(h.entityId, entityId);
  assert.equal(h.dataPoints.reduce((a, p) => a + p.count, 0), 1);
});

test('since and until are inclusive to the millisecond', T, async () => {
  const entityId = uniq('bounds');
  const B0 = Date.parse('2024-04-10T12:00:00.000Z');
  const B1 = Date.parse('2024-04-10T13:00:00.000Z');
  await post(entityId, 'before', iso(B0 - 1));
  await post(entityId, 'atSince', iso(B0));
  await post(entityId, 'inside', iso(B0 + 1));
  await post(entityId, 'inside', iso(B1 - 1));
  await post(entityId, 'atUntil', iso(B1));
  await post(entityId, 'afterT', iso(B1 + 1));

  const d = await get(`/v1/usage/${entityId}?since=${iso(B0)}&until=${iso(B1)}`);
  assert.equal(d.totalEvents, 4);
  assert.deepEqual(d.byEventType, { atSince: 1, inside: 2, atUntil: 1 });
  assert.deepEqual(d.period, { since: iso(B0), until: iso(B1) });

  const s = await get(`/v1/usage/${entityId}?since=${iso(B1)}`);
  assert.deepEqual(s.byEventType, { atUntil: 1, afterT: 1 });
  const u = await get(`/v1/usage/${entityId}?until=${iso(B0)}&since=2000-01-01T00:00:00.000Z`);
  assert.deepEqual(u.byEventType, { before: 1, atSince: 1 });
  const point = await get(`/v1/usage/${entityId}?since=${iso(B0)}&until=${iso(B0)}`);
  assert.deepEqual(point.byEventType, { atSince: 1 });
  const all = await get(`/v1/usage/${entityId}?since=1970-01-01T00:00:00.000Z`);
  assert.equal(all.totalEvents, 6);
});

test('since/until with a UTC offset mean the same instant', T, async () => {
  const entityId = uniq('offset');
  await post(entityId, 't', '2024-04-10T12:00:00.000Z');
  const d = await get(`/v1/usage/${entityId}?since=2024-04-10T14:00:00.000${enc('+')}02:00&until=2024-04-10T14:00:00.000${enc('+')}02:00`);
  assert.equal(d.totalEvents, 1);
});

for (const [q, msg] of [
  ['since=notadate', 'since must be a valid ISO8601 date'],
  ['since=2024-13-45T00:00:00Z', 'since must be a valid ISO8601 date'],
  ['until=tomorrow', 'until must be a valid ISO8601 date'],
  ['since=x&until=y', 'since must be a valid ISO8601 date, until must be a valid ISO8601 date'],
]) {
  test(`GET /v1/usage/:entityId?${q} → 400 "${msg}"`, T, async () => {
    assertError(await api(srv, 'GET', encodeQuery(`/v1/usage/someone?${q}`)), 400, 'VALIDATION_ERROR', msg);
  });
  test(`GET /v1/usage/:entityId/history?${q} → 400 "${msg}"`, T, async () => {
    assertError(await api(srv, 'GET', encodeQuery(`/v1/usage/someone/history?${q}`)), 400, 'VALIDATION_ERROR', msg);
  });
}

test('raw (unencoded) colons in since/until are accepted, as curl users and the earlier service send them', T, async () => {
  const entityId = uniq('rawcolon');
  await post(entityId, 't', '2024-04-10T12:00:00.000Z');
  for (const p of [
    `/v1/usage/${entityId}?since=2024-04-10T12:00:00.000Z&until=2024-04-10T12:00:00.000Z`,
    `/v1/usage/${entityId}/history?interval=day&since=2024-04-10T00:00:00.000Z&until=2024-04-11T00:00:00.000Z`,
  ]) {
    const r = await api(srv, 'GET', p);
    assert.equal(r.status, 200, `${p}: ${r.text}`);
  }
  const r = await api(srv, 'GET', `/v1/usage/${entityId}?since=2024-04-10T12:00:00.000Z&until=2024-04-10T12:00:00.000Z`);
  assert.equal(r.json.data.totalEvents, 1);
});

// ---------------------------------------------------------------- history

const BUCKET_EVENTS = [
  '2024-02-29T23:59:59.999Z', // before since
  '2024-03-01T10:15:30.500Z',
  '2024-03-01T10:15:59.999Z',
  '2024-03-01T10:16:00.000Z',
  '2024-03-01T11:59:59.999Z',
  '2024-03-02T00:00:00.000Z',
  '2024-03-03T00:00:00.001Z', // after until
];
const RANGE = 'since=2024-03-01T00:00:00.000Z&until=2024-03-03T00:00:00.000Z';

let bucketEntity;
async function bucketData() {
  if (!bucketEntity) {
    bucketEntity = uniq('hist');
    // Posted out of order on purpose: the answer must still be oldest first.
    for (const ts of [...BUCKET_EVENTS].reverse()) await post(bucketEntity, 't', ts);
  }
  return bucketEntity;
}

test('history interval=minute: UTC-aligned, only non-empty buckets, oldest first', T, async () => {
  const e = await bucketData();
  const d = await get(`/v1/usage/${e}/history?interval=minute&${RANGE}`);
  assert.deepEqual(Object.keys(d).sort(), ['dataPoints', 'entityId', 'interval', 'period']);
  assert.equal(d.entityId, e);
  assert.equal(d.interval, 'minute');
  assert.deepEqual(d.period, { since: '2024-03-01T00:00:00.000Z', until: '2024-03-03T00:00:00.000Z' });
  assert.deepEqual(d.dataPoints, [
    { timestamp: '2024-03-01T10:15:00.000Z', count: 2 },
    { timestamp: '2024-03-01T10:16:00.000Z', count: 1 },
    { timestamp: '2024-03-01T11:59:00.000Z', count: 1 },
    { timestamp: '2024-03-02T00:00:00.000Z', count: 1 },
  ]);
});

test('history interval=hour', T, async () => {
  const e = await bucketData();
  const d = await get(`/v1/usage/${e}/history?interval=hour&${RANGE}`);
  assert.equal(d.interval, 'hour');
  assert.deepEqual(d.dataPoints, [
    { timestamp: '2024-03-01T10:00:00.000Z', count: 3 },
    { timestamp: '2024-03-01T11:00:00.000Z', count: 1 },
    { timestamp: '2024-03-02T00:00:00.000Z', count: 1 },
  ]);
});

test('history interval=day', T, async () => {
  const e = await bucketData();
  const d = await get(`/v1/usage/${e}/history?interval=day&${RANGE}`);
  assert.equal(d.interval, 'day');
  assert.deepEqual(d.dataPoints, [
    { timestamp: '2024-03-01T00:00:00.000Z', count: 4 },
    { timestamp: '2024-03-02T00:00:00.000Z', count: 1 },
  ]);
});

test('history defaults to interval=hour', T, async () => {
  const e = await bucketData();
  const d = await get(`/v1/usage/${e}/history?${RANGE}`);
  assert.equal(d.interval, 'hour');
  assert.equal(d.dataPoints.length, 3);
});

test('history bounds are inclusive', T, async () => {
  const e = await bucketData();
  const d = await get(`/v1/usage/${e}/history?interval=day&since=2024-03-01T10:15:59.999Z&until=2024-03-02T00:00:00.000Z`);
  assert.deepEqual(d.dataPoints, [
    { timestamp: '2024-03-01T00:00:00.000Z', count: 3 },
    { timestamp: '2024-03-02T00:00:00.000Z', count: 1 },
  ]);
});

for (const bad of ['week', 'HOUR', 'minutes']) {
  test(`history interval=${JSON.stringify(bad)} → 400 "interval must be minute, hour, or day"`, T, async () => {
    assertError(await api(srv, 'GET', `/v1/usage/someone/history?interval=${bad}`), 400, 'VALIDATION_ERROR',
      'interval must be minute, hour, or day');
  });
}

test('history of events stored now, without since/until: one bucket per hour of their timestamps', T, async () => {
  const entityId = uniq('hist-now');
  const stored = [await post(entityId, 't'), await post(entityId, 't'), await post(entityId, 'u')];
  const d = await get(`/v1/usage/${entityId}/history`);
  const want = new Map();
  for (const e of stored) {
    const b = iso(Math.floor(Date.parse(e.timestamp) / 3_600_000) * 3_600_000);
    want.set(b, (want.get(b) || 0) + 1);
  }
  assert.deepEqual(d.dataPoints, [...want].map(([timestamp, count]) => ({ timestamp, count })));
  const stats = await get('/v1/usage/stats');
  assert.equal(d.period.since, stats.startTime);
  assert.ok(Math.abs(Date.parse(d.period.until) - Date.now()) < 5000);
});

test('an unknown entity has an empty history', T, async () => {
  const d = await get(`/v1/usage/${uniq('nobody')}/history?interval=minute`);
  assert.deepEqual(d.dataPoints, []);
});

test('backfilled events land in their own buckets, apart from live ones', T, async () => {
  const entityId = uniq('backfill');
  await post(entityId, 't', '2023-06-01T08:30:00.000Z');
  await post(entityId, 't', '2023-06-01T08:45:00.000Z');
  await post(entityId, 't', '2023-06-02T23:59:59.999Z');
  const live = await post(entityId, 't');
  const d = await get(`/v1/usage/${entityId}/history?interval=day&since=2023-01-01T00:00:00.000Z&until=${iso(Date.now() + 60_000)}`);
  assert.deepEqual(d.dataPoints, [
    { timestamp: '2023-06-01T00:00:00.000Z', count: 2 },
    { timestamp: '2023-06-02T00:00:00.000Z', count: 1 },
    { timestamp: iso(Math.floor(Date.parse(live.timestamp) / 86_400_000) * 86_400_000), count: 1 },
  ]);
  const u = await get(`/v1/usage/${entityId}?since=2023-06-01T00:00:00.000Z&until=2023-06-01T23:59:59.999Z`);
  assert.equal(u.totalEvents, 2);
});

test('usage agrees with the event list for the same entity and window', T, async () => {
  const entityId = uniq('agree');
  for (let i = 0; i < 7; i++) await post(entityId, i % 2 ? 'odd' : 'even', iso(Date.parse('2024-07-01T00:00:00.000Z') + i * 3_600_000));
  const u = await get(`/v1/usage/${entityId}?since=2024-07-01T00:00:00.000Z&until=2024-07-02T00:00:00.000Z`);
  const l = await get(`/v1/events?entityId=${entityId}`);
  assert.equal(u.totalEvents, l.pagination.total);
  assert.deepEqual(u.byEventType, { even: 4, odd: 3 });
  const h = await get(`/v1/usage/${entityId}/history?interval=hour&since=2024-07-01T00:00:00.000Z&until=2024-07-02T00:00:00.000Z`);
  assert.equal(h.dataPoints.length, 7);
  assert.ok(h.dataPoints.every((p) => p.count === 1));
});
