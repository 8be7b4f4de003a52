// PostgreSQL outages (this file runs on PostgreSQL only: integration_pg.pg-outage).
//
// An outage under load: 4 writers post events with client ids to one instance
// while probers ask /health and /ready; PostgreSQL is stopped for ~3 s and started again.
// During the outage writes answer 503 with Retry-After (504 TIMEOUT only for a request
// caught mid-flight), /health stays 200 (the outage is far below the restart budget),
// /ready answers 503 with checks.storage not "ok". After the start, writes succeed again
// within seconds (measured), every acknowledged write is stored exactly once, and the
// counts are right. Nothing acknowledged is lost.
//
// A start while PostgreSQL is down: the service starts and is live, answers 503 until the
// database is back, then works without a restart.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  backend, startServer, stopAll, api, postEvent, pgStop, pgStart, uniq, sleep, eventually,
  databaseUrlFor, makeTempDir,
} from './lib/server.mjs';
import { keepAliveClient, now, percentile } from './lib/load.mjs';
import { assert503, assertStoredExactlyOnce, isAck, refusalProblem } from './lib/outcomes.mjs';

const skip = backend !== 'postgres'
  && 'PostgreSQL only: stops and starts the private PostgreSQL cluster (USAGE_METRICS_BACKEND=postgres)';

let pgDown = false;
after(async () => {
  if (pgDown) await pgStart().catch(() => {});
  await stopAll();
});

const WRITERS = 4;
const OUTAGE_MS = 3000;
const WARMUP_MS = 1000;
const AFTER_RECOVERY_MS = 1000;
// Only so that a service that never recovers fails: it takes well under a second
// (measured by bench/faults.mjs).
const RECOVERY_LIMIT_MS = 15_000; // writes succeed again within this of PostgreSQL's start
const READY_DETECT_MS = 100; // /ready says "not ready" for every probe this long after the stop
const BACKOFF_MS = 20; // after a 503, shorter than Retry-After so the outage is sampled finely
const PROBE_EVERY_MS = 10;

test('PostgreSQL stopped for ~3 s under write load: 503 + Retry-After, /health 200, /ready 503, recovery, nothing acknowledged lost',
  { skip, timeout: 60_000 }, async () => {
    const srv = await startServer();
    const run = uniq('pgout');
    const eventType = `outage-${run}`;
    const slug = `${run.replace(/-/g, '_')}_count`;
    const m = await api(srv, 'POST', '/api/v1/meters', { body: { slug, aggregation: 'COUNT', eventType } });
    assert.equal(m.status, 201, m.text);

    const entities = Array.from({ length: WRITERS }, (_, w) => `${run}-w${w}`);
    const writeClient = keepAliveClient(srv.port, { maxSockets: WRITERS });
    const probeClient = keepAliveClient(srv.port, { maxSockets: 2 });
    const writes = []; // {w, id, start, end, status, ...}
    const health = [];
    const ready = [];
    const sent = entities.map(() => new Set());
    const acked = entities.map(() => new Set());
    let running = true;

    const writers = entities.map(async (entityId, w) => {
      for (let i = 0; running; i++) {
        const id = `${run}-w${w}-${i}`;
        sent[w].add(id);
        const r = await writeClient.request({
          method: 'POST', path: '/v1/events', body: { id, entityId, eventType, metadata: { w, i } }, timeoutMs: 15_000,
        });
        writes.push({ w, id, ...r });
        if (isAck(r)) acked[w].add(id);
        else await sleep(BACKOFF_MS);
      }
    });
    const probe = (path, into) => (async () => {
      while (running) {
        const r = await probeClient.request({ path, timeoutMs: 5000 });
        into.push(r);
        await sleep(PROBE_EVERY_MS);
      }
    })();
    const probers = [probe('/health', health), probe('/ready', ready)];

    let t = {};
    try {
      await sleep(WARMUP_MS);
      t.stop0 = now();
      pgDown = true;
      await pgStop();
      t.stopped = now();
      await sleep(OUTAGE_MS);
      t.start0 = now();
      await pgStart();
      pgDown = false;
      t.started = now();
      // Wait for the first write acknowledged after the start, then some more traffic.
      const recovered = () => writes.find((r) => r.start >= t.started && isAck(r));
      while (!recovered() && now() - t.started < RECOVERY_LIMIT_MS) await sleep(10);
      await sleep(AFTER_RECOVERY_MS);
    } finally {
      running = false;
      await Promise.all([...writers, ...probers]);
      writeClient.close();
      probeClient.close();
    }

    // --- the write answers, by phase ------------------------------------------------
        const firstAckAfter = writes.filter((r) => r.start >= t.started && isAck(r)).sort((x, y) => x.end - y.end)[0];
    assert.ok(firstAckAfter, `no write was acknowledged within ${RECOVERY_LIMIT_MS} ms of PostgreSQL's start`);
    const recoveryMs = firstAckAfter.end - t.started;
    const problems = [];
    const counts = { ackBefore: 0, ackDuring: 0, ackAfter: 0, s503: 0, s504: 0, other: 0 };
    for (const r of writes) {
      if (isAck(r)) {
        if (r.end < t.stop0) counts.ackBefore += 1;
        else if (r.start >= t.started) counts.ackAfter += 1;
        else counts.ackDuring += 1;
        // Nothing can commit while the database is down.
        if (r.start >= t.stopped && r.end <= t.start0) problems.push(`${r.id} acknowledged while PostgreSQL was down`);
        // Every id is sent once during the run: stored now, 201.
        if (r.status !== 201) problems.push(`${r.id}: ${r.status} for an id never sent before`);
        continue;
      }
      // A refusal must touch the outage: from the stop to the first write acknowledged
      // after it; a 504 TIMEOUT only for a request caught mid-flight by it.
      const overlaps = r.end >= t.stop0 && r.start <= firstAckAfter.end;
      if (r.status === 503) counts.s503 += 1;
      else if (r.status === 504) counts.s504 += 1;
      else counts.other += 1;
      const why = refusalProblem(r, { allow504: true });
      if (why) problems.push(`${r.id}: ${why}`);
      else if (!overlaps) problems.push(`${r.id}: ${r.status} outside the outage`);
    }
    const during = writes.filter((r) => r.start >= t.stopped && r.end <= t.start0);
    const duringLatency = during.map((r) => r.ms);

    // --- the probes ---------------------------------------------------------------
    const badHealth = health.filter((r) => r.status !== 200);
    const healthDuring = health.filter((r) => r.start >= t.stop0 && r.end <= t.started);
    const readyDuring = ready.filter((r) => r.start >= t.stopped + READY_DETECT_MS && r.end <= t.start0);
    const readyWrong = readyDuring.filter((r) => r.status !== 503 || !r.json?.checks
      || r.json.checks.storage === 'ok' || r.json.status === 'ready');
    const firstNotReady = ready.find((r) => r.start >= t.stop0 && r.status === 503);
    const readyAgain = ready.find((r) => r.start >= t.started && r.status === 200);
    const storageResults = [...new Set(readyDuring.map((r) => r.json?.checks?.storage))];

    const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : String(x));
    console.log(`# pgStop took ${f(t.stopped - t.stop0)} ms, database down ${f(t.start0 - t.stopped)} ms, `
      + `pgStart took ${f(t.started - t.start0)} ms`);
    console.log(`# writes: ${writes.length} (acknowledged before the stop ${counts.ackBefore}, across the stop/start `
      + `${counts.ackDuring}, after the start ${counts.ackAfter}; 503 ${counts.s503}, 504 TIMEOUT ${counts.s504}, `
      + `other ${counts.other}); while down: ${during.length} answered, p50 ${f(percentile(duringLatency, 50))} ms, `
      + `max ${f(Math.max(...duringLatency))} ms`);
    const first503 = writes.filter((r) => r.status === 503).sort((x, y) => x.end - y.end)[0];
    console.log(`# writes acknowledged again ${f(recoveryMs)} ms after PostgreSQL's start `
      + `(${f(firstAckAfter.end - t.start0)} ms after pgStart was called); the service refused writes for `
      + `${first503 ? f(firstAckAfter.end - first503.end) : '-'} ms (first 503 to the first acknowledgement after the start)`);
    console.log(`# /health: ${health.length} probes, ${healthDuring.length} during the outage, non-200 ${badHealth.length}, `
      + `max ${f(Math.max(...health.map((r) => r.ms)))} ms; /ready: ${ready.length} probes, ${readyDuring.length} while down `
      + `(storage ${JSON.stringify(storageResults)}), first 503 ${firstNotReady ? f(firstNotReady.end - t.stop0) : '-'} ms `
      + `after the stop began, 200 again ${readyAgain ? f(readyAgain.end - t.started) : '-'} ms after the start`);

    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} unacceptable write answers`);
    assert.ok(counts.ackBefore > 20, `writes acknowledged before the outage: ${counts.ackBefore}`);
    assert.ok(during.length >= WRITERS, `writes answered while PostgreSQL was down: ${during.length}`);
    assert.ok(during.every((r) => r.status === 503),
      `while down every write answers 503: ${JSON.stringify(during.filter((r) => r.status !== 503).map((r) => [r.id, r.status]))}`);
    assert.ok(recoveryMs <= RECOVERY_LIMIT_MS, `writes succeed again ${f(recoveryMs)} ms after the start (limit ${RECOVERY_LIMIT_MS})`);
    assert.ok(counts.ackAfter > 20, `writes acknowledged after the recovery: ${counts.ackAfter}`);
    assert.deepEqual(badHealth.map((r) => [r.status, r.error ?? r.text]).slice(0, 5), [],
      `/health answered other than 200 ${badHealth.length} times`);
    assert.ok(healthDuring.length > 50, `/health probes during the outage: ${healthDuring.length}`);
    assert.ok(readyDuring.length > 20, `/ready probes while down: ${readyDuring.length}`);
    assert.deepEqual(readyWrong.map((r) => [r.status, r.text]).slice(0, 5), [],
      `/ready while PostgreSQL is down answers 503 with checks.storage not "ok" (${readyWrong.length} did not)`);
    assert.ok(readyAgain && readyAgain.end - t.started <= RECOVERY_LIMIT_MS,
      `/ready answers 200 again within ${RECOVERY_LIMIT_MS} ms of the start`);

    // --- durability and counts ---------------------------------------------------------
    const check = async (w, expected, label) => {
      const distinct = await assertStoredExactlyOnce(srv, entities[w], {
        acked: expected, sent: sent[w], eventType, label: `${label}, writer ${w}`,
      });
      const q = await api(srv, 'GET', `/api/v1/meters/${slug}/query?subject=${encodeURIComponent(entities[w])}`);
      assert.equal(q.status, 200, q.text);
      assert.equal(q.json.data.reduce((s, row) => s + row.value, 0), distinct.size, `${label}, writer ${w}: COUNT meter`);
      return distinct;
    };
    const storedBy = [];
    for (let w = 0; w < WRITERS; w++) storedBy.push(await check(w, acked[w], 'after the outage'));
    const unackedStored = storedBy.reduce((n, stored, w) => n + [...stored].filter((id) => !acked[w].has(id)).length, 0);
    // Retry every id that was not acknowledged (8 at a time): stored once, whatever its first fate.
    const jobs = [];
    for (let w = 0; w < WRITERS; w++) for (const id of sent[w]) if (!acked[w].has(id)) jobs.push([w, id]);
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < jobs.length) {
        const [w, id] = jobs[next++];
        const r = await postEvent(srv, { id, entityId: entities[w], eventType, metadata: { w, retry: true } });
        assert.equal(r.status, storedBy[w].has(id) ? 200 : 201, `retry of ${id}: ${r.text}`);
      }
    }));
    const retried = jobs.length;
    for (let w = 0; w < WRITERS; w++) {
      const final = await check(w, sent[w], 'after retrying the unacknowledged ids');
      assert.equal(final.size, sent[w].size);
    }
    console.log(`# stored exactly once: ${acked.reduce((n, s) => n + s.size, 0)} acknowledged; `
      + `${unackedStored} refused writes were stored anyway (then answered 200 on retry); ${retried} retried`);
  });


test('started while PostgreSQL is down: it starts, /health 200, /ready 503 (storage), requests 503, then all work once it is up',
  { skip, timeout: 60_000 }, async () => {
    const dataDir = makeTempDir();
    await databaseUrlFor(dataDir); // the database exists; its server is what is down
    pgDown = true;
    await pgStop();
    const srv = await startServer({ dataDir });
    // The start's own attempt to open the store says why (other parts may log theirs first).
    await srv.waitForLog((l) => l.level === 'error' && l.message === 'storage error: cannot open the database'
      && /connect|refused/i.test(l.error ?? ''), 10_000);

    const health = await api(srv, 'GET', '/health');
    assert.equal(health.status, 200, `live while the database is down: ${health.text}`);
    const ready = await api(srv, 'GET', '/ready');
    assert.equal(ready.status, 503, ready.text);
    assert.equal(ready.json.status, 'not_ready');
    assert.notEqual(ready.json.checks.storage, 'ok', `/ready names storage: ${ready.text}`);
    const entityId = uniq('down-at-start');
    assert503(await postEvent(srv, { id: `${entityId}-0`, entityId, eventType: 't' }), 'a write while the database is down');
    assert503(await api(srv, 'GET', `/v1/usage/${entityId}`), 'a usage read while the database is down');
    assert503(await api(srv, 'GET', `/v1/events?entityId=${entityId}`), 'a listing while the database is down');

    await pgStart();
    pgDown = false;
    // Every answer until the first success is a proper 503; the limit only makes a
    // service that never recovers fail.
    await eventually(async () => {
      const r = await postEvent(srv, { id: `${entityId}-0`, entityId, eventType: 't' });
      if (r.status === 201) return true;
      assert.equal(refusalProblem(r), '', `while PostgreSQL comes back: ${r.status} ${r.text}`);
      return false;
    }, { timeoutMs: RECOVERY_LIMIT_MS, intervalMs: 100, what: 'a write is stored once PostgreSQL is up' });
    await eventually(async () => (await api(srv, 'GET', '/ready')).status === 200,
      { timeoutMs: RECOVERY_LIMIT_MS, intervalMs: 100, what: '/ready answers 200 once PostgreSQL is up' });
    await assertStoredExactlyOnce(srv, entityId, { acked: [`${entityId}-0`], sent: [`${entityId}-0`], eventType: 't' });
    assert.equal(await srv.stop('SIGTERM'), 0);
    assert.equal(srv.stderr, '');
  });
