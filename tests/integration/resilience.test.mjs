// Failure isolation under traffic (needs --fault-injection): while clients write and a
// prober asks /health every ~5 ms, every part is crashed several times and ingest is
// hung; liveness stays fast, every write is answered, acknowledged writes are stored
// exactly once, and the restart counts match the crashes. Then one part exhausts its
// restart budget: /health and /ready say so, and so does an error line.

import { test, after } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, listAllEvents, waitForLog, uniq, sleep, errorShapeProblem, api,
} from './lib/server.mjs';
import { keepAliveClient, now, percentile, parseMetrics, metric, describe } from './lib/load.mjs';

after(stopAll);

const ACTORS = ['ingest', 'aggregation', 'log-shipper', 'health'];
const CRASH_ROUNDS = 4; // per part; backoffs 5, 10, 20, 40 ms: well inside 10 / 60 s
const CRASH_SPACING_MS = 250; // between two crashes (of different parts)
const HANG_MS = 2000; // ingest hangs this long, once
const REQUEST_TIMEOUT_MS = 1500; // shorter than the hang, so writes during it answer 504
const WRITERS = 4;
const PROBE_EVERY_MS = 5;

const PROBE_P99_MS = 50;
const HEALTH_RESTART_WINDOW_MS = 100;
const WRITE_RECOVERY_MS = 1000;
// Below this p99 of the control route (GET /, no actor), the machine counts as quiet and
// the client-side numbers are held to the spec as they stand.
const QUIET_CONTROL_P99_MS = 25;

/** Why a write answer is not acceptable, or '' (504 only while ingest hangs). */
function writeProblem(r, hang) {
  if (r.status === 200 || r.status === 201) return '';
  if (r.status === 0) return `no HTTP answer: ${r.error}`;
  if (r.status === 503) {
    if (!r.headers['retry-after']) return '503 without Retry-After';
    return errorShapeProblem(r.json, 'SERVICE_UNAVAILABLE');
  }
  if (r.status === 504) {
    const overlaps = hang && r.start <= hang.end + 250 && r.end >= hang.start;
    if (!overlaps) return '504 outside the ingest hang';
    return errorShapeProblem(r.json, 'TIMEOUT');
  }
  return `status ${r.status}: ${r.text}`;
}

test('crashes of every part and a hung ingest under traffic: liveness, answers, durability, counts',
  { timeout: 60_000 }, async () => {
    const srv = await startServer({
      args: ['--fault-injection', '--request-timeout-ms', String(REQUEST_TIMEOUT_MS)],
    });
    const admin = keepAliveClient(srv.port, { maxSockets: 2 });
    const probeClient = keepAliveClient(srv.port, { maxSockets: 32 });
    const writeClient = keepAliveClient(srv.port, { maxSockets: WRITERS });
    let running = true;

    // --- the prober: one /health every ~5 ms, on a fixed schedule ------------------
    const probes = [];
    const control = [];
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const prober = (async () => {
      const inFlight = new Set();
      const t0 = now();
      for (let k = 0; running; k++) {
        const due = t0 + k * PROBE_EVERY_MS;
        const wait = due - now();
        if (wait > 0) await sleep(wait);
        else if (wait < -50) k = Math.ceil((now() - t0) / PROBE_EVERY_MS); // fell behind: skip, don't burst
        if (k % 2 === 1) {
          // A control probe of a route no actor serves: the machine's and client's own
          // latency, to tell them from the service's in the report.
          const c = probeClient.request({ path: '/', timeoutMs: 2000 }).then((r) => {
            control.push({ k, start: r.start, ms: r.ms, status: r.status });
            inFlight.delete(c);
          });
          inFlight.add(c);
        }
        const p = probeClient.request({ path: '/health', timeoutMs: 2000 }).then((r) => {
          probes.push({ k, start: r.start, end: r.end, ms: r.ms, status: r.status,
            error: r.error, code: r.json?.error?.code, retryAfter: r.headers?.['retry-after'] });
          inFlight.delete(p);
        });
        inFlight.add(p);
      }
      await Promise.all(inFlight);
    })();

    // --- the writers: each its own entity, client ids, a failed id is retried -------
    const writers = [];
    for (let w = 0; w < WRITERS; w++) {
      const entityId = uniq(`res-w${w}`);
      const state = { entityId, attempted: new Set(), acked: new Set(), answers: [] };
      writers.push(state);
      state.done = (async () => {
        let n = 0;
        while (running) {
          const id = `${entityId}-${n}`;
          state.attempted.add(id);
          const r = await writeClient.request({
            method: 'POST', path: '/v1/events', timeoutMs: 10_000,
            body: { id, entityId, eventType: 'resilience', metadata: { n } },
          });
          state.answers.push({ id, start: r.start, end: r.end, status: r.status, error: r.error,
            headers: r.headers ?? {}, json: r.json, text: r.text });
          if (r.status === 200 || r.status === 201) {
            if (r.json?.data?.id !== id) state.wrongIds = (state.wrongIds ?? 0) + 1;
            state.acked.add(id);
            n++;
          } else {
            await sleep(20); // then the same id again: a retry may find it stored (200)
          }
        }
      })();
    }

    // --- the faults ----------------------------------------------------------------
    const crashes = [];
    const crashCount = Object.fromEntries(ACTORS.map((a) => [a, 0]));
    // A warm-up second (connections opened, code paths hot) before anything is measured.
    await sleep(1000);
    const measureFrom = now();
    for (let round = 0; round < CRASH_ROUNDS; round++) {
      for (const actor of ACTORS) {
        const at = now();
        const r = await admin.request({ method: 'POST', path: `/admin/faults/${actor}/crash` });
        assert.equal(r.status, 202, `crash ${actor}: ${r.status} ${r.text}`);
        crashes.push({ actor, at });
        crashCount[actor]++;
        await sleep(CRASH_SPACING_MS);
      }
    }
    const hangAt = now();
    const h = await admin.request({ method: 'POST', path: `/admin/faults/ingest/hang?ms=${HANG_MS}` });
    assert.equal(h.status, 202, `hang ingest: ${h.status} ${h.text}`);
    const hang = { start: hangAt, end: hangAt + HANG_MS };
    const lastFaultEnd = hang.end;
    await sleep(HANG_MS + 1500); // the hang, then a recovery period under traffic

    running = false;
    loopDelay.disable();
    await prober;
    await Promise.all(writers.map((w) => w.done));
    probeClient.close();
    writeClient.close();

    // --- /health probes ------------------------------------------------------------
    // A failed probe is excused only right after a crash of `health` itself; a failure is
    // charged to the last health crash sent before it was answered. The window of a crash
    // runs from the crash to the answer of the first 200 sent after its last failure.
    const healthCrashes = crashes.filter((c) => c.actor === 'health').map((c) => c.at);
    const chargedTo = (p) => healthCrashes.findLastIndex((at) => at <= p.end);
    const windows = healthCrashes.map((at, i) => {
      const failed = probes.filter((p) => p.status !== 200 && chargedTo(p) === i);
      if (failed.length === 0) return { at, failed, ms: 0 };
      const lastFail = Math.max(...failed.map((p) => p.end));
      const firstOk = probes.filter((p) => p.status === 200 && p.start >= lastFail)
        .reduce((a, p) => (a && a.start <= p.start ? a : p), null);
      return { at, failed, ms: (firstOk ? firstOk.end : Infinity) - at };
    });
    const excused = new Set(windows.flatMap((w) => w.failed));
    const unexcused = probes.filter((p) => p.status !== 200 && !excused.has(p));
    const measured = probes.filter((p) => p.status === 200 && p.start >= measureFrom);
    const okLatencies = measured.map((p) => p.ms);
    const p99 = percentile(okLatencies, 99);
    // The machine's and the test process's own latency: a control route no actor serves
    // (GET /), probed on every other tick, and each /health probe's excess over the
    // control probe sent at the same moment.
    const controlByTick = new Map(control.filter((c) => c.status === 200).map((c) => [c.k, c]));
    const controlMs = [...controlByTick.values()].filter((c) => c.start >= measureFrom).map((c) => c.ms);
    const controlP99 = percentile(controlMs, 99);
    const excess = measured.filter((p) => controlByTick.has(p.k)).map((p) => p.ms - controlByTick.get(p.k).ms);
    // The server's own time for the same requests (its request log lines).
    const serverMs = srv.logs.filter((l) => l.message === 'HTTP Request' && l.path === '/health')
      .map((l) => l.duration);
    const serverP99 = percentile(serverMs, 99);
    // The server's own view of each health restart: from the crash request's log line
    // to the "component restarted" line (ms timestamps).
    const serverWindows = [];
    for (const req of srv.logs.filter((l) => l.message === 'HTTP Request' && l.path === '/admin/faults/health/crash')) {
      const t = Date.parse(req.timestamp);
      const back = srv.logs.find((l) => l.message === 'component restarted' && l.component === 'health'
        && Date.parse(l.timestamp) >= t);
      serverWindows.push(back ? Date.parse(back.timestamp) - t : Infinity);
    }
    const lastProbe = probes.reduce((a, p) => Math.max(a, p.end), 0);
    const quiet = controlP99 < QUIET_CONTROL_P99_MS;
    const report = {
      probes: probes.length,
      clientHealthMs: describe(okLatencies),
      clientControlMs: describe(controlMs),
      healthExcessOverControlMs: describe(excess),
      serverHealthMs: describe(serverMs),
      warmupClientHealthMs: describe(probes.filter((p) => p.status === 200 && p.start < measureFrom).map((p) => p.ms)),
      testEventLoopDelayMs: `p99=${(loopDelay.percentile(99) / 1e6).toFixed(1)} max=${(loopDelay.max / 1e6).toFixed(1)}`,
      loadavg: os.loadavg().map((x) => x.toFixed(1)).join(' '),
      healthRestartWindowsClientMs: windows.map((w) => Math.round(w.ms * 10) / 10),
      healthRestartWindowsServerMs: serverWindows,
      failedProbesPerHealthCrash: windows.map((w) => w.failed.length),
    };
    console.log(`# resilience: ${JSON.stringify(report)}`);
    // Where the slow probes were: the fault before each (diagnostics only).
    const faults = [...crashes.map((c) => ({ what: `crash ${c.actor}`, at: c.at })), { what: 'hang ingest', at: hang.start }];
    const slow = measured.filter((p) => p.ms >= PROBE_P99_MS).map((p) => {
      const f = faults.filter((x) => x.at <= p.start).at(-1);
      const c = controlByTick.get(p.k);
      return `${Math.round(p.ms)}ms(control ${c ? Math.round(c.ms) : '-'})@${f ? `${f.what}+${Math.round(p.start - f.at)}` : 'before faults'}`;
    });
    if (slow.length) console.log(`# resilience: probes >= ${PROBE_P99_MS} ms: ${slow.join(' ')}`);

    assert.ok(probes.length > 500, `the prober ran (${probes.length} probes)`);
    assert.ok(lastProbe > lastFaultEnd, 'probes covered the whole run');
    assert.deepEqual(unexcused.slice(0, 5).map((p) => ({ status: p.status, error: p.error, code: p.code })), [],
      `every /health probe outside a health restart answered 200 (${unexcused.length} did not)`);
    for (const w of windows) {
      for (const p of w.failed) {
        assert.ok(p.status === 503 && p.code === 'SERVICE_UNAVAILABLE' && p.retryAfter,
          `a probe during a health restart answers 503 SERVICE_UNAVAILABLE with Retry-After (got ${p.status} ${p.error ?? p.code})`);
      }
    }
    // The service's own numbers hold whatever the load of the machine.
    assert.ok(serverP99 < PROBE_P99_MS, `/health p99 as the server measured it: ${serverP99} ms < ${PROBE_P99_MS} ms`);
    // Log lines sent while the log-shipper itself is down (between its crash and its
    // restart) are lost, so a crash request's line may be missing: judge the lines
    // that are there; the client-side windows below cover every health crash.
    assert.ok(serverWindows.length >= 1, 'a log line for at least one health crash');
    for (const ms of serverWindows) {
      assert.ok(ms < HEALTH_RESTART_WINDOW_MS, `health restarted within ${HEALTH_RESTART_WINDOW_MS} ms of its crash, server clock (${serverWindows})`);
    }
    // Seen from the client: the spec's numbers as they stand on a quiet machine. When the
    // control route itself is slow, the machine is loaded and the part of the latency it
    // explains is taken out (reported as such, see the "# resilience" lines).
    if (quiet) {
      assert.ok(p99 < PROBE_P99_MS, `/health p99 ${p99.toFixed(1)} ms < ${PROBE_P99_MS} ms (${JSON.stringify(report)})`);
      for (const w of windows) {
        assert.ok(w.ms < HEALTH_RESTART_WINDOW_MS,
          `/health is back within ${HEALTH_RESTART_WINDOW_MS} ms of a health crash (${w.ms.toFixed(1)} ms)`);
      }
    } else {
      console.log(`# resilience: LOADED MACHINE: control route p99 ${controlP99.toFixed(1)} ms >= ${QUIET_CONTROL_P99_MS} ms; `
        + `client /health p99 ${p99.toFixed(1)} ms judged by its excess over the control instead`);
      const excessP99 = percentile(excess, 99);
      assert.ok(excessP99 < PROBE_P99_MS, `/health p99 excess over the control route ${excessP99.toFixed(1)} ms < ${PROBE_P99_MS} ms (${JSON.stringify(report)})`);
      for (const w of windows) {
        assert.ok(w.ms < HEALTH_RESTART_WINDOW_MS + controlP99,
          `/health is back within ${HEALTH_RESTART_WINDOW_MS} ms (+ control p99 ${controlP99.toFixed(1)} ms) of a health crash (${w.ms.toFixed(1)} ms)`);
      }
    }

    // --- writes ----------------------------------------------------------------------
    const bad = [];
    for (const w of writers) {
      for (const a of w.answers) {
        const why = writeProblem(a, hang);
        if (why) {
          // The crash nearest to when the write was sent, to tell which fault it met.
          const f = crashes.reduce((b, x) => (!b || Math.abs(x.at - a.start) < Math.abs(b.at - a.start) ? x : b), null);
          const d = Math.round(a.start - f.at);
          bad.push(`${a.id}: ${why}; sent ${Math.abs(d)} ms ${d < 0 ? 'before' : 'after'} a crash of ${f.actor}, answered after ${Math.round(a.end - a.start)} ms`);
        }
      }
    }
    if (bad.length) console.log(`# resilience: writes not answered 2xx or 503: ${bad.length} (asserted last, after the other checks)`);
    const statusCounts = {};
    for (const w of writers) for (const a of w.answers) statusCounts[a.status] = (statusCounts[a.status] ?? 0) + 1;
    console.log(`# resilience: write answers by status ${JSON.stringify(statusCounts)}`);

    const recoveries = [];
    for (const w of writers) {
      const firstOk = w.answers.find((a) => (a.status === 200 || a.status === 201) && a.end >= lastFaultEnd);
      assert.ok(firstOk, `${w.entityId}: a write succeeded after the last fault`);
      const recovery = firstOk.end - lastFaultEnd;
      recoveries.push(Math.round(recovery));
      assert.ok(recovery < WRITE_RECOVERY_MS,
        `${w.entityId}: writes succeed within ${WRITE_RECOVERY_MS} ms of the last fault (${recovery.toFixed(0)} ms)`);
      const lateFailures = w.answers.filter((a) => a.start > lastFaultEnd + WRITE_RECOVERY_MS
        && a.status !== 200 && a.status !== 201);
      assert.deepEqual(lateFailures.map((a) => a.status), [], `${w.entityId}: no failed write once recovered`);
    }

    console.log(`# resilience: first acknowledged write per client after the hang ended (ms): ${JSON.stringify(recoveries)}`);

    // --- durability: stored ⊇ acknowledged, nothing twice, nothing unknown, counts agree
    for (const w of writers) {
      const { events, total } = await listAllEvents(srv, w.entityId, { timeoutMs: 10_000 });
      const ids = events.map((e) => e.id);
      const stored = new Set(ids);
      assert.equal(stored.size, ids.length, `${w.entityId}: no event stored twice`);
      const missing = [...w.acked].filter((id) => !stored.has(id));
      assert.deepEqual(missing, [], `${w.entityId}: every acknowledged write is stored (${w.acked.size} acknowledged)`);
      const unknown = ids.filter((id) => !w.attempted.has(id));
      assert.deepEqual(unknown, [], `${w.entityId}: only written ids are stored`);
      assert.equal(total, ids.length, `${w.entityId}: pagination total equals the events listed`);
      const usage = await admin.request({ path: `/v1/usage/${encodeURIComponent(w.entityId)}` });
      assert.equal(usage.status, 200, usage.text);
      assert.equal(usage.json.data.totalEvents, ids.length, `${w.entityId}: the rollup count equals the stored events`);
      assert.ok(w.acked.size > 10, `${w.entityId}: writes went through (${w.acked.size})`);
      assert.equal(w.wrongIds ?? 0, 0, `${w.entityId}: every acknowledgement names the id written`);
    }

    // --- restart counts ------------------------------------------------------------------
    const health = await admin.request({ path: '/health' });
    assert.equal(health.status, 200, health.text);
    assert.equal(health.json.status, 'healthy');
    const metrics = parseMetrics((await admin.request({ path: '/metrics' })).text);
    for (const actor of ACTORS) {
      const c = health.json.components[actor];
      assert.deepEqual({ state: c.state, restarts: c.restarts }, { state: 'up', restarts: crashCount[actor] },
        `/health components.${actor} after ${crashCount[actor]} crashes`);
      assert.equal(metric(metrics, 'actor_restarts_total', { actor }), crashCount[actor],
        `actor_restarts_total{actor="${actor}"}`);
      assert.equal(metric(metrics, 'actor_up', { actor, state: 'up' }), 1, `actor_up{actor="${actor}"}`);
    }
    assert.equal(srv.stderr, '', 'nothing on stderr');
    assert.deepEqual(srv.nonJsonLines, [], 'stdout stays one JSON object per line');
    admin.close();
    assert.equal(await srv.stop('SIGTERM'), 0, 'stops cleanly after the faults');
    // Last, so that a failure here still shows every check above passed.
    assert.deepEqual(bad.slice(0, 10), [], `every write answered 2xx or 503 with Retry-After, 504 only while ingest hung (${bad.length} did not)`);
  });

test('a part that dies an 11th time within 60 s is failed: /health 503 unhealthy, /ready 503, error line',
  { timeout: 30_000 }, async () => {
    const srv = await startServer({ args: ['--fault-injection'] });
    const c = keepAliveClient(srv.port, { maxSockets: 2 });
    const actor = 'aggregation';
    const component = async () => (await c.request({ path: '/health' })).json?.components?.[actor];
    for (let i = 1; i <= 11; i++) {
      const r = await c.request({ method: 'POST', path: `/admin/faults/${actor}/crash` });
      assert.equal(r.status, 202, `crash ${i}: ${r.text}`);
      // Wait until this crash was handled (restarted, or failed for the 11th) before the next
      // one: a crash sent while the part is down would reach nobody. Backoffs add up to ~3.3 s.
      const want = i <= 10 ? { state: 'up', restarts: i } : { state: 'failed', restarts: 10 };
      const deadline = now() + 3000;
      let seen;
      for (;;) {
        seen = await component();
        if (seen?.state === want.state && seen?.restarts === want.restarts) break;
        assert.ok(now() < deadline, `crash ${i}: expected ${JSON.stringify(want)}, last seen ${JSON.stringify(seen)}`);
        await sleep(5);
      }
    }

    const health = await c.request({ path: '/health' });
    assert.equal(health.status, 503, health.text);
    assert.equal(health.json.status, 'unhealthy');
    assert.equal(health.json.components[actor].state, 'failed');
    for (const other of ACTORS.filter((a) => a !== actor)) {
      assert.equal(health.json.components[other].state, 'up', `${other} is unaffected`);
    }
    const line = await waitForLog(srv, (l) => l.level === 'error' && l.component === actor
      && /fail/i.test(l.message), 3000);
    assert.match(line.message, /error/, `the failure line says "error": ${JSON.stringify(line)}`);

    const ready = await c.request({ path: '/ready' });
    assert.equal(ready.status, 503, ready.text);
    assert.equal(ready.json.status, 'not_ready');
    assert.notEqual(ready.json.checks[actor], 'ok', `/ready names ${actor}: ${ready.text}`);

    const metrics = parseMetrics((await c.request({ path: '/metrics' })).text);
    assert.equal(metric(metrics, 'actor_up', { actor, state: 'failed' }), 0);
    assert.equal(metric(metrics, 'actor_restarts_total', { actor }), 10);

    // The failed part stays failed; the others keep serving.
    const usage = await c.request({ path: '/v1/usage/someone' });
    assert.equal(usage.status, 503, usage.text);
    assert.ok(usage.headers['retry-after'], 'Retry-After on a request needing the failed part');
    const write = await c.request({ method: 'POST', path: '/v1/events', body: { entityId: 'x', eventType: 't' } });
    assert.equal(write.status, 201, `writes do not need ${actor}: ${write.text}`);
    await sleep(300);
    assert.equal((await c.request({ path: '/health' })).status, 503, 'failed is for good');
    c.close();
    assert.equal(await srv.stop('SIGTERM'), 0);
  });

test('a write whose commit is in flight when ingest crashes is answered at once as of unknown outcome (504), and its retry counts once',
  { timeout: 30_000 }, async (t) => {
    if (spawnSync('python3', ['-c', 'import sqlite3'], { stdio: 'ignore' }).status !== 0) {
      t.skip('python3 with its sqlite3 module is needed to hold the commit back');
      return;
    }
    const REQUEST_TIMEOUT_MS = 3000;
    const srv = await startServer({ args: ['--fault-injection', '--request-timeout-ms', String(REQUEST_TIMEOUT_MS)] });
    const c = keepAliveClient(srv.port, { maxSockets: 4 });
    const entityId = uniq('inflight');
    assert.equal((await c.request({ method: 'POST', path: '/v1/events', body: { entityId, eventType: 't' } })).status, 201);
    // Another process holds the write lock, so the next commit waits in the store writer
    // (busy timeout 2 s): the write is in flight to the writer, no longer queued in ingest.
    const py = spawn('python3', ['-c', `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute('BEGIN EXCLUSIVE')
print('locked', flush=True)
time.sleep(2.5)
db.execute('ROLLBACK')
`, path.join(srv.dataDir, 'usage-metrics.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pyExited = new Promise((resolve) => py.on('exit', resolve));
    await new Promise((resolve) => py.stdout.once('data', resolve));
    const writing = c.request({ method: 'POST', path: '/v1/events', body: { id: `${entityId}-1`, entityId, eventType: 't' } });
    await sleep(300);
    const crashAt = now();
    const f = await c.request({ method: 'POST', path: '/admin/faults/ingest/crash' });
    assert.equal(f.status, 202, f.text);
    const w = await writing;
    const afterCrash = w.end - crashAt;
    console.log(`# resilience: write in flight at an ingest crash: ${w.status} ${w.json?.error?.code ?? ''} ${Math.round(afterCrash)} ms after the crash`);
    await pyExited;
    // The commit may still land after the crash (its writer finishes the
    // transaction it is in): a 503 would claim it was not stored.
    assert.equal(w.status, 504, `answered 504 TIMEOUT, got ${w.status} ${w.text} ${Math.round(afterCrash)} ms after the crash`);
    assert.equal(w.json?.error?.code, 'TIMEOUT');
    assert.match(w.json.error.message, /may still be stored/);
    assert.ok(afterCrash < 1000, `at once, not at the busy or request timeout (${Math.round(afterCrash)} ms after the crash)`);
    // The retry the answer asks for stores it exactly once, whatever happened.
    let retry;
    for (let i = 0; i < 50; i++) {
      retry = await c.request({ method: 'POST', path: '/v1/events', body: { id: `${entityId}-1`, entityId, eventType: 't' } });
      if (retry.status !== 503) break;
      await sleep(100);
    }
    c.close();
    assert.ok([200, 201].includes(retry.status), `the retry: ${retry.status} ${retry.text}`);
    const usage = await api(srv, 'GET', `/v1/usage/${entityId}`);
    assert.equal(usage.json.data.totalEvents, 2);
  });
