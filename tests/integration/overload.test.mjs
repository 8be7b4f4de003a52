// Overload: writes far beyond what the service absorbs. The ingest queue is bounded
// (50,000 events): past it writes answer 503 with Retry-After and are counted in
// usage_ingest_rejected_total; every request still gets an answer, the service stays
// live, and its resident memory stays flat instead of growing with the backlog.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { startServer, stopAll, uniq, sleep } from './lib/server.mjs';
import { refusalProblem } from './lib/outcomes.mjs';
import { keepAliveClient, now, rssMiB, parseMetrics, metric, percentile, describe } from './lib/load.mjs';

after(stopAll);

const CONNECTIONS = 64;
const BATCH = 1000; // events per POST /v1/events/batch (the maximum)
const FLOOD_MS = 10_000;
const SINGLE_FLOOD_MS = 5_000;
const RSS_EVERY_MS = 500;
const WARMUP_MS = 1000;
const RSS_MAX_GROWTH_MIB = 150; // over the RSS at the end of the warm-up second
// Last third of the run vs the first third. The margin is the SQLite page cache of the
// write connection (cache_size -65536: up to 64 MiB), which fills as the database grows
// and then stays (measured: RSS levels off near 130 MiB after ~400,000 events).
const RSS_TREND_MARGIN_MIB = 64;
// terraform/modules/alb: the target group's health check times out after 5 s.
const LB_HEALTH_TIMEOUT_MS = 5000;

/** Counts answers by status; collects what is not 2xx, a proper 503 or a proper 504. */
function tally() {
  return {
    byStatus: {}, problems: [], requests: 0, latencies: [],
    add(r, okStatus) {
      this.requests++;
      this.byStatus[r.status] = (this.byStatus[r.status] ?? 0) + 1;
      this.latencies.push(r.ms);
      if (r.status === okStatus) return;
      // A write queued within the bound can still wait longer than --request-timeout-ms
      // when commits are slow: it is answered 504 TIMEOUT (and committed later).
      const why = refusalProblem(r, { allow504: true });
      if (why) this.problems.push(why);
    },
  };
}

/** Samples the server's VmRSS every RSS_EVERY_MS until stop() is called. */
function sampleRss(pid) {
  const samples = [];
  const t0 = now();
  const take = () => samples.push({ t: now() - t0, mib: rssMiB(pid) });
  take();
  const timer = setInterval(take, RSS_EVERY_MS);
  return { samples, stop: () => { clearInterval(timer); take(); } };
}

test('a batch flood: 503 with Retry-After past the queue bound, every request answered, RSS flat',
  { timeout: 60_000 }, async () => {
    const srv = await startServer();
    const pid = srv.process.pid;
    const idleRss = rssMiB(pid);
    const client = keepAliveClient(srv.port, { maxSockets: CONNECTIONS });
    const probe = keepAliveClient(srv.port, { maxSockets: 2 });

    // A few prepared bodies, reused: the test process must not be the bottleneck.
    const bodies = Array.from({ length: 8 }, (_, b) => JSON.stringify({
      events: Array.from({ length: BATCH }, (_, i) => ({
        entityId: `flood-${(b * BATCH + i) % 97}`, eventType: 'flood', metadata: { b, i },
      })),
    }));
    const batches = tally();
    const health = [];
    const rss = sampleRss(pid);
    const t0 = now();
    const deadline = t0 + FLOOD_MS;
    let stopProbe = false;
    const prober = (async () => {
      while (!stopProbe) {
        const r = await probe.request({ path: '/health', timeoutMs: 5000 });
        health.push(r);
        await sleep(100);
      }
    })();
    await Promise.all(Array.from({ length: CONNECTIONS }, async (_, c) => {
      for (let n = 0; now() < deadline; n++) {
        const r = await client.request({
          method: 'POST', path: '/v1/events/batch', body: bodies[(c + n) % bodies.length], timeoutMs: 30_000,
        });
        batches.add(r, 201);
      }
    }));
    const floodMs = now() - t0;
    rss.stop();
    stopProbe = true;
    await prober;
    client.close();

    const metrics = parseMetrics((await probe.request({ path: '/metrics' })).text);
    const rejected = metric(metrics, 'usage_ingest_rejected_total');
    const ingested = metric(metrics, 'usage_events_ingested_total');

    // RSS: after the warm-up second, bounded and not trending up.
    const warm = rss.samples.filter((s) => s.t <= WARMUP_MS).at(-1).mib;
    const after1 = rss.samples.filter((s) => s.t > WARMUP_MS);
    const third = Math.max(1, Math.floor(after1.length / 3));
    const avg = (xs) => xs.reduce((a, s) => a + s.mib, 0) / xs.length;
    const firstThird = avg(after1.slice(0, third));
    const lastThird = avg(after1.slice(-third));
    const maxRss = Math.max(...after1.map((s) => s.mib));
    const report = {
      floodMs: Math.round(floodMs),
      batchesByStatus: batches.byStatus,
      batchLatencyMs: describe(batches.latencies),
      batchServerMs: describe(srv.logs.filter((l) => l.message === 'HTTP Request' && l.path === '/v1/events/batch').map((l) => l.duration)),
      healthServerMs: describe(srv.logs.filter((l) => l.message === 'HTTP Request' && l.path === '/health').map((l) => l.duration)),
      eventsIngested: ingested,
      eventsPerSecond: Math.round(ingested / (floodMs / 1000)),
      rejectedMetric: rejected,
      healthDuringFloodMs: describe(health.map((r) => r.ms)),
      rssMiB: { idle: Math.round(idleRss), warm: Math.round(warm), max: Math.round(maxRss),
        firstThird: Math.round(firstThird), lastThird: Math.round(lastThird),
        curve: rss.samples.map((s) => Math.round(s.mib)).join(' ') },
      loadavg: os.loadavg().map((x) => x.toFixed(1)).join(' '),
    };
    console.log(`# overload: ${JSON.stringify(report)}`);

    assert.deepEqual(batches.problems.slice(0, 10), [],
      `every batch answered 201, 503 with Retry-After or 504 TIMEOUT (${batches.problems.length} did not)`);
    assert.ok((batches.byStatus[503] ?? 0) > 0, `the flood went past the queue bound: some 503 (${JSON.stringify(batches.byStatus)})`);
    assert.ok((batches.byStatus[201] ?? 0) > 0, 'and some batches were stored');
    assert.equal(rejected, batches.byStatus[503], 'usage_ingest_rejected_total counts each rejected write');
    assert.ok(health.length > 0 && health.every((r) => r.status === 200),
      `/health answered 200 throughout (${health.map((r) => r.status).filter((s) => s !== 200)})`);
    const slowHealth = health.filter((r) => r.ms >= LB_HEALTH_TIMEOUT_MS).map((r) => Math.round(r.ms));
    assert.deepEqual(slowHealth, [], `/health answered within the load balancer's ${LB_HEALTH_TIMEOUT_MS} ms during the flood`);

    assert.ok(maxRss - warm <= RSS_MAX_GROWTH_MIB,
      `RSS max ${maxRss.toFixed(0)} MiB <= warm-up ${warm.toFixed(0)} MiB + ${RSS_MAX_GROWTH_MIB} MiB (${report.rssMiB.curve})`);
    assert.ok(lastThird <= firstThird + RSS_TREND_MARGIN_MIB,
      `RSS not growing: last third ${lastThird.toFixed(0)} MiB <= first third ${firstThird.toFixed(0)} MiB + ${RSS_TREND_MARGIN_MIB} (${report.rssMiB.curve})`);

    // Afterwards the backlog drains and a write goes through; nothing lost its way.
    const depth0 = now();
    let depth;
    do {
      depth = metric(parseMetrics((await probe.request({ path: '/metrics' })).text), 'usage_ingest_queue_depth');
      if (depth > 0) await sleep(100);
    } while (depth > 0 && now() - depth0 < 15_000);
    assert.equal(depth, 0, 'the ingest queue drains after the flood');
    const entityId = uniq('after-flood');
    const one = await probe.request({ method: 'POST', path: '/v1/events', body: { entityId, eventType: 't' } });
    assert.equal(one.status, 201, one.text);
    const stored = metric(parseMetrics((await probe.request({ path: '/metrics' })).text), 'usage_events_ingested_total');
    assert.ok(stored >= (batches.byStatus[201] ?? 0) * BATCH, `every acknowledged batch was stored (${stored} events)`);
    probe.close();
    assert.equal(srv.stderr, '');
    assert.equal(await srv.stop('SIGTERM', 20_000), 0, 'stops cleanly after the flood');
  });

test('a single-event flood (no batches): every request answered', { timeout: 40_000 }, async () => {
  const srv = await startServer();
  const client = keepAliveClient(srv.port, { maxSockets: CONNECTIONS });
  const singles = tally();
  const deadline = now() + SINGLE_FLOOD_MS;
  const rss = sampleRss(srv.process.pid);
  await Promise.all(Array.from({ length: CONNECTIONS }, async (_, c) => {
    const entityId = uniq(`single-${c}`);
    for (let n = 0; now() < deadline; n++) {
      const r = await client.request({
        method: 'POST', path: '/v1/events', body: { entityId, eventType: 'flood', metadata: { n } }, timeoutMs: 30_000,
      });
      singles.add(r, 201);
    }
  }));
  rss.stop();
  console.log(`# overload singles: ${JSON.stringify({
    byStatus: singles.byStatus, perSecond: Math.round(singles.requests / (SINGLE_FLOOD_MS / 1000)),
    latencyMs: describe(singles.latencies), p99: percentile(singles.latencies, 99),
    rssMiB: rss.samples.map((s) => Math.round(s.mib)).join(' '),
  })}`);
  assert.deepEqual(singles.problems.slice(0, 10), [],
    `every single write answered 201 or 503 with Retry-After (${singles.problems.length} did not)`);
  assert.ok((singles.byStatus[201] ?? 0) > 0);
  const h = await client.request({ path: '/health' });
  assert.equal(h.status, 200);
  client.close();
  assert.equal(srv.stderr, '');
  assert.equal(await srv.stop('SIGTERM', 20_000), 0);
});
