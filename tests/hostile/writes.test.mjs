// Writes while the write path is crashed and hung on purpose: a 503 must mean
// "not stored" (a client may resend it without an id and count it once), a
// 504 means "outcome unknown" and says how to retry safely, and an
// Idempotency-Key makes such a retry safe for requests without an id.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, api, uniq, sleep, errorShapeProblem, listAllEvents,
} from '../integration/lib/server.mjs';
import { keepAliveClient } from '../integration/lib/load.mjs';
import { assertHealthyFast } from './lib.mjs';

after(stopAll);

async function writeUnderFaults(srv, { fault, every, rounds }) {
  const run = uniq(`faults-${fault}`);
  const client = keepAliveClient(srv.port, { maxSockets: 8 });
  const results = [];
  let running = true;
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; running; i++) {
      const id = `${run}-${w}-${i}`;
      const r = await client.request({
        method: 'POST', path: '/v1/events', body: { id, entityId: run, eventType: 'fault' }, timeoutMs: 15_000,
      });
      results.push({ id, ...r });
    }
  });
  for (let k = 0; k < rounds; k++) {
    await sleep(every);
    const path = fault === 'hang' ? '/admin/faults/ingest/hang?ms=1500' : '/admin/faults/ingest/crash';
    await api(srv, 'POST', path);
  }
  await sleep(every);
  running = false;
  await Promise.all(writers);
  client.close();
  return { run, results };
}

async function checkOutcomes(srv, run, results) {
  const stored = new Set((await listAllEvents(srv, run)).events.map((e) => e.id));
  const by = (s) => results.filter((r) => r.status === s);
  const acked = results.filter((r) => r.status === 200 || r.status === 201);
  for (const r of acked) assert.ok(stored.has(r.id), `${r.id} acknowledged (${r.status}) but not stored`);
  for (const r of by(503)) {
    assert.ok(!stored.has(r.id), `${r.id} answered 503 but stored`);
    assert.equal(errorShapeProblem(r.json, 'SERVICE_UNAVAILABLE'), '');
    assert.ok(r.headers['retry-after'], '503 carries Retry-After');
  }
  for (const r of by(504)) {
    assert.equal(errorShapeProblem(r.json, 'TIMEOUT'), '');
    assert.match(r.json.error.message, /may still be stored.*same id/);
  }
  const other = results.filter((r) => ![200, 201, 503, 504].includes(r.status));
  assert.deepEqual(other.map((r) => `${r.id}: ${r.status}`), []);
  return { acked: acked.length, s503: by(503).length, s504: by(504).length };
}

test('ingest crashed again and again during writes: no 503 was stored, every 2xx was', { timeout: 120_000 }, async () => {
  const srv = await startServer({ args: ['--fault-injection'] });
  const { run, results } = await writeUnderFaults(srv, { fault: 'crash', every: 150, rounds: 8 });
  const counts = await checkOutcomes(srv, run, results);
  assert.ok(counts.s503 + counts.s504 > 0, `the crashes touched some writes: ${JSON.stringify(counts)}`);
  await assertHealthyFast(srv);
});

test('ingest hung past the request timeout during writes: 504s say the outcome is unknown, no 503 was stored', { timeout: 120_000 }, async () => {
  const srv = await startServer({ args: ['--fault-injection', '--request-timeout-ms', '1000'] });
  const { run, results } = await writeUnderFaults(srv, { fault: 'hang', every: 300, rounds: 3 });
  const counts = await checkOutcomes(srv, run, results);
  assert.ok(counts.s504 > 0, `the hangs timed some writes out: ${JSON.stringify(counts)}`);
  await assertHealthyFast(srv);
});

test('Idempotency-Key makes a retried write without an id count once', { timeout: 30_000 }, async () => {
  const srv = await startServer();
  const run = uniq('idem');
  const headers = { 'Idempotency-Key': `${run}-key` };
  const first = await api(srv, 'POST', '/v1/events', { body: { entityId: run, eventType: 'retry' }, headers });
  assert.equal(first.status, 201, first.text);
  assert.equal(first.json.data.id, `${run}-key`);
  const again = await api(srv, 'POST', '/v1/events', { body: { entityId: run, eventType: 'retry' }, headers });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.data.id, `${run}-key`);
  const usage = await api(srv, 'GET', `/v1/usage/${run}`);
  assert.equal(usage.json.data.totalEvents, 1);
  // In a batch, each event without an id takes <key>:<index>.
  const batch = { events: [{ entityId: run, eventType: 'b' }, { entityId: run, eventType: 'b', id: `${run}-own` }] };
  const b1 = await api(srv, 'POST', '/v1/events/batch', { body: batch, headers: { 'Idempotency-Key': `${run}-b` } });
  assert.equal(b1.status, 201, b1.text);
  assert.deepEqual(b1.json.data.events.map((e) => e.id), [`${run}-b:0`, `${run}-own`]);
  await api(srv, 'POST', '/v1/events/batch', { body: batch, headers: { 'Idempotency-Key': `${run}-b` } });
  assert.equal((await api(srv, 'GET', `/v1/usage/${run}`)).json.data.totalEvents, 3);
  // A key that disagrees with the body's id is refused.
  const clash = await api(srv, 'POST', '/v1/events', { body: { entityId: run, eventType: 'x', id: 'a' }, headers: { 'Idempotency-Key': 'b' } });
  assert.equal(clash.status, 400);
  assert.equal(clash.json.error.message, 'id and Idempotency-Key must be the same when both are given');
});
