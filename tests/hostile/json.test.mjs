// Hostile JSON against the real binary: bodies nested far past the depth limit,
// objects far past the member limit, on every route that reads a JSON body.
// Each is answered 400 in its API's error shape, nothing is stored, and the
// process keeps answering /health. Each test starts its own server, so one
// crash cannot hide behind another test's.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, api, assertError, uniq } from '../integration/lib/server.mjs';

const T = { timeout: 60_000 };

after(stopAll);

/** `levels` objects one inside the other: {"a":{"a":…1…}}. */
const deepObjects = (levels) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
/** An object holding `levels` arrays one inside the other: {"x":[[…]]}. */
const deepArrays = (levels) => `{"x":${'['.repeat(levels)}${']'.repeat(levels)}}`;

/** An object with `n` members named by base 36 (100,000 members ≈ 830 KB). */
function wideObject(n) {
  const members = [];
  for (let i = 0; i < n; i += 1) members.push(`"${i.toString(36)}":0`);
  return `{${members.join(',')}}`;
}

const depths = [
  ['60,000 levels of objects', deepObjects(60_000)],
  ['100,000 levels of arrays', deepArrays(100_000)],
];

/** Sends a raw body and insists on an answer: a crash or a closed connection fails. */
async function send(srv, method, path, body, contentType = 'application/json') {
  try {
    return await api(srv, method, path, {
      body, headers: { 'content-type': contentType }, timeoutMs: 30_000,
    });
  } catch (err) {
    assert.fail(`no answer to ${method} ${path} (${err.message}); ` +
      `server exit ${srv.exitCode ?? '-'} ${srv.exitSignal ?? '-'}`);
  }
}

/** The process is alive and /health answers 200 right away. */
async function assertAlive(srv) {
  assert.equal(srv.exitSignal, undefined, `server died with ${srv.exitSignal}`);
  assert.equal(srv.exitCode, undefined, `server exited with ${srv.exitCode}`);
  const h = await api(srv, 'GET', '/health');
  assert.equal(h.status, 200, `/health: ${h.status} ${h.text}`);
}

/** An RFC 7807 answer of the metering API with this status and detail. */
function assertProblem(res, status, detail) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json\b/);
  assert.deepEqual(Object.keys(res.json), ['type', 'title', 'status', 'detail', 'instance']);
  assert.equal(res.json.status, status);
  assert.equal(res.json.detail, detail);
}

/** No v1 event of `entityId` was stored: neither listed nor counted. */
async function assertNoV1Events(srv, entityId) {
  const list = await api(srv, 'GET', `/v1/events?entityId=${entityId}`);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.data.pagination.total, 0, `stored: ${list.text.slice(0, 300)}`);
  const usage = await api(srv, 'GET', `/v1/usage/${entityId}`);
  assert.equal(usage.status, 200, usage.text);
  assert.equal(usage.json.data.totalEvents, 0, usage.text);
}

/** No event of `subject` was stored through the metering API. */
async function assertNoCloudEvents(srv, subject) {
  const list = await api(srv, 'GET', `/api/v1/events?subject=${subject}`);
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.json, [], `stored: ${list.text.slice(0, 300)}`);
}

function cloudEvent(subject, data, id = uniq('ce')) {
  return `{"specversion":"1.0","id":"${id}","source":"hostile","type":"t",` +
    `"subject":"${subject}","data":${data}}`;
}

const meterBody = (slug) =>
  JSON.stringify({ slug, eventType: 't', aggregation: 'COUNT', name: 'before' });

// --- depth -----------------------------------------------------------------

for (const [label, metadata] of depths) {
  test(`v1 event with metadata of ${label} → 400, nothing stored, alive`, T, async () => {
    const srv = await startServer();
    const entity = uniq('deep');
    const r = await send(srv, 'POST', '/v1/events',
      `{"entityId":"${entity}","eventType":"t","metadata":${metadata}}`);
    assertError(r, 400, 'VALIDATION_ERROR', 'metadata nests deeper than 64 levels');
    await assertAlive(srv);
    await assertNoV1Events(srv, entity);
  });

  test(`v1 batch with metadata of ${label} → 400 naming the index, nothing stored`, T, async () => {
    const srv = await startServer();
    const entity = uniq('deep');
    const r = await send(srv, 'POST', '/v1/events/batch',
      `{"events":[{"entityId":"${entity}","eventType":"t"},` +
      `{"entityId":"${entity}","eventType":"t","metadata":${metadata}}]}`);
    assertError(r, 400, 'VALIDATION_ERROR', 'events[1]: metadata nests deeper than 64 levels');
    await assertAlive(srv);
    await assertNoV1Events(srv, entity);
  });

  test(`CloudEvent with data of ${label} → 400 problem, nothing stored`, T, async () => {
    const srv = await startServer();
    const subject = uniq('deep');
    const r = await send(srv, 'POST', '/api/v1/events', cloudEvent(subject, metadata),
      'application/cloudevents+json');
    assertProblem(r, 400, 'event: data nests deeper than 64 levels');
    await assertAlive(srv);
    await assertNoCloudEvents(srv, subject);
  });

  test(`CloudEvents batch with data of ${label} → 400 naming the index`, T, async () => {
    const srv = await startServer();
    const subject = uniq('deep');
    const r = await send(srv, 'POST', '/api/v1/events',
      `[${cloudEvent(subject, '{"ok":1}')},${cloudEvent(subject, metadata)}]`,
      'application/cloudevents-batch+json');
    assertProblem(r, 400, 'event[1]: data nests deeper than 64 levels');
    await assertAlive(srv);
    await assertNoCloudEvents(srv, subject);
  });

  test(`meter create and update bodies of ${label} → 400 problem, no change`, T, async () => {
    const srv = await startServer();
    const deepBody = (slug) =>
      `{"slug":"${slug}","eventType":"t","aggregation":"COUNT","groupBy":{"g":${metadata}}}`;
    const created = await send(srv, 'POST', '/api/v1/meters', deepBody('hostile_new'));
    assertProblem(created, 400, 'request body nests deeper than 64 levels');
    await assertAlive(srv);
    const meters = await api(srv, 'GET', '/api/v1/meters');
    assert.equal(meters.status, 200, meters.text);
    assert.deepEqual(meters.json.map((m) => m.slug), []);

    const made = await send(srv, 'POST', '/api/v1/meters', meterBody('hostile_put'));
    assert.equal(made.status, 201, made.text);
    const updated = await send(srv, 'PUT', '/api/v1/meters/hostile_put',
      `{"name":"after","groupBy":{"g":${metadata}}}`);
    assertProblem(updated, 400, 'request body nests deeper than 64 levels');
    await assertAlive(srv);
    const meter = await api(srv, 'GET', '/api/v1/meters/hostile_put');
    assert.equal(meter.status, 200, meter.text);
    assert.equal(meter.json.name, 'before');
  });

  test(`meter query body of ${label} → 400 problem, alive`, T, async () => {
    const srv = await startServer();
    const made = await send(srv, 'POST', '/api/v1/meters', meterBody('hostile_query'));
    assert.equal(made.status, 201, made.text);
    const r = await send(srv, 'POST', '/api/v1/meters/hostile_query/query',
      `{"subject":[${metadata}]}`);
    assertProblem(r, 400, 'request body nests deeper than 64 levels');
    await assertAlive(srv);
  });
}

// --- width -----------------------------------------------------------------

test('v1 event with 100,000 metadata members → 400 at once, not stored', T, async () => {
  const srv = await startServer();
  const entity = uniq('wide');
  const r = await send(srv, 'POST', '/v1/events',
    `{"entityId":"${entity}","eventType":"t","metadata":${wideObject(100_000)}}`);
  assertError(r, 400, 'VALIDATION_ERROR', 'metadata has more than 10000 members in one object');
  await assertAlive(srv);
  await assertNoV1Events(srv, entity);
});

test('CloudEvent with 100,000 data members → 400 problem, not stored', T, async () => {
  const srv = await startServer();
  const subject = uniq('wide');
  const r = await send(srv, 'POST', '/api/v1/events',
    `[${cloudEvent(subject, wideObject(100_000))}]`, 'application/cloudevents-batch+json');
  assertProblem(r, 400, 'event[0]: data has more than 10000 members in one object');
  await assertAlive(srv);
  await assertNoCloudEvents(srv, subject);
});

// --- size ------------------------------------------------------------------

/** An object that takes exactly `bytes` bytes as compact JSON: {"s":"xxx…"}. */
const sizedObject = (bytes) => `{"s":"${'x'.repeat(bytes - 8)}"}`;

test('metadata and data of 256 KiB are taken, one byte more → 400, not stored', T, async () => {
  const srv = await startServer();
  const entity = uniq('big');
  const at = await send(srv, 'POST', '/v1/events',
    `{"entityId":"${entity}","eventType":"t","metadata":${sizedObject(262_144)}}`);
  assert.equal(at.status, 201, at.text.slice(0, 200));
  const past = await send(srv, 'POST', '/v1/events/batch',
    `{"events":[{"entityId":"${entity}","eventType":"t","metadata":${sizedObject(262_145)}}]}`);
  assertError(past, 400, 'VALIDATION_ERROR', 'events[0]: metadata must be 262144 bytes or less');
  const list = await api(srv, 'GET', `/v1/events?entityId=${entity}`);
  assert.equal(list.json.data.pagination.total, 1, 'only the event at the limit is stored');

  const subject = uniq('big');
  const ce = await send(srv, 'POST', '/api/v1/events', cloudEvent(subject, sizedObject(262_145)),
    'application/cloudevents+json');
  assertProblem(ce, 400, 'event: data must be 262144 bytes or less');
  await assertAlive(srv);
  await assertNoCloudEvents(srv, subject);
});

/** The serialized `metadata` (or `data`) value in a response text, as sent on the wire. */
function wireValue(text, name, next) {
  const start = text.indexOf(`"${name}":`) + name.length + 3;
  const end = text.indexOf(`,"${next}":`, start);
  assert.ok(start > name.length + 2 && end > start, `no ${name} in ${text.slice(0, 200)}`);
  return text.slice(start, end);
}

/** Equal texts; on a difference, says where instead of printing 200 KB. */
function assertSameText(actual, expected, what) {
  if (actual === expected) return;
  let i = 0;
  while (i < actual.length && actual[i] === expected[i]) i += 1;
  assert.fail(`${what} differs at byte ${i} (${actual.length} vs ${expected.length} bytes): ` +
    `got ${JSON.stringify(actual.slice(i, i + 60))}, JSON.parse gives ${JSON.stringify(expected.slice(i, i + 60))}`);
}

test('an event with 10,000 metadata members is stored and listed as JSON.parse reads it', T, async () => {
  const srv = await startServer();
  const entity = uniq('wide');
  // Names in descending order with array-index names among them: JavaScript
  // lists index names first, in numeric order, then the rest as sent.
  const members = [];
  for (let i = 9_996; i >= 0; i -= 1) {
    members.push(`"k${i}":${i}`);
    if (i === 5_000) members.push('"7":"seven"', '"10":"ten"', '"3":"three"');
  }
  const metadata = `{${members.join(',')}}`;
  const expected = JSON.stringify(JSON.parse(metadata));
  const r = await send(srv, 'POST', '/v1/events',
    `{"entityId":"${entity}","eventType":"t","metadata":${metadata}}`);
  assert.equal(r.status, 201, r.text.slice(0, 300));
  assertSameText(wireValue(r.text, 'metadata', 'timestamp'), expected, 'the answer');

  const list = await api(srv, 'GET', `/v1/events?entityId=${entity}`, { timeoutMs: 30_000 });
  assert.equal(list.status, 200);
  assert.equal(list.json.data.pagination.total, 1);
  assertSameText(wireValue(list.text, 'metadata', 'timestamp'), expected, 'the v1 listing');
  assert.equal(Object.keys(list.json.data.events[0].metadata).length, 10_000);

  const events = await api(srv, 'GET', `/api/v1/events?subject=${entity}`, { timeoutMs: 30_000 });
  assert.equal(events.status, 200);
  assert.equal(events.json.length, 1);
  assertSameText(wireValue(events.text, 'data', 'ingestedAt').slice(0, -1), expected,
    'the metering listing');
  await assertAlive(srv);
});

test('repeated names keep the place of the first and the value of the last, as JSON.parse', T, async () => {
  const srv = await startServer();
  const entity = uniq('dup');
  const metadata = '{"b":1,"2":0,"a":{"x":1,"x":2},"b":3}';
  const r = await send(srv, 'POST', '/v1/events',
    `{"entityId":"${entity}","eventType":"t","metadata":${metadata}}`);
  assert.equal(r.status, 201, r.text);
  assert.equal(wireValue(r.text, 'metadata', 'timestamp'), JSON.stringify(JSON.parse(metadata)));
  const subject = uniq('dup');
  const ce = await send(srv, 'POST', '/api/v1/events', cloudEvent(subject, metadata),
    'application/cloudevents+json');
  assert.equal(ce.status, 204, ce.text);
  const events = await api(srv, 'GET', `/api/v1/events?subject=${subject}`);
  assert.equal(wireValue(events.text, 'data', 'ingestedAt').slice(0, -1),
    JSON.stringify(JSON.parse(metadata)));
});
