// Fault scenarios shared by the tests (which assert what must hold) and by
// bench/faults.mjs (which measures how long things take): each runs the scenario
// against a server started with --fault-injection and returns what it saw.

import assert from 'node:assert/strict';
import { sleep, uniq } from './server.mjs';
import { keepAliveClient, now } from './load.mjs';
import { isAck } from './outcomes.mjs';

export const ACTORS = ['ingest', 'aggregation', 'log-shipper', 'health', 'notifier'];

/**
 * Crashes of every part and one hang of ingest while writers post events with client ids
 * and a prober asks /health every `probeEveryMs` on a fixed schedule.
 *
 * After a warm-up second, each part is crashed `rounds` times (`spacingMs` apart, parts in
 * turn), then ingest hangs for `hangMs`. The run goes on until every writer has had a
 * write acknowledged that it sent after the hang ended (at most `recoveryLimitMs`), then
 * for `tailMs` more. A writer retries a refused id after 20 ms (a retry may find it
 * stored: 200).
 *
 * Returns {probes, writers, crashes, crashCount, hang, measureFrom, recovered}:
 *  probes   {start, end, ms, status, error, code}, every /health probe
 *  writers  {entityId, attempted, acked, answers, wrongIds}, answers as keepAliveClient's
 *  crashes  {actor, at}; hang {start, end}; recovered: whether every writer recovered
 */
export async function crashesUnderTraffic(srv, {
  rounds = 4, spacingMs = 250, hangMs = 2000, writers: writerCount = 4, probeEveryMs = 5,
  recoveryLimitMs = 15_000, tailMs = 500, probeTimeoutMs = 5000,
} = {}) {
  const admin = keepAliveClient(srv.port, { maxSockets: 2 });
  const probeClient = keepAliveClient(srv.port, { maxSockets: 32 });
  const writeClient = keepAliveClient(srv.port, { maxSockets: writerCount });
  let running = true;

  // The prober: one /health every probeEveryMs, on a fixed schedule.
  const probes = [];
  const prober = (async () => {
    const inFlight = new Set();
    const t0 = now();
    for (let k = 0; running; k++) {
      const wait = t0 + k * probeEveryMs - now();
      if (wait > 0) await sleep(wait);
      else if (wait < -50) k = Math.ceil((now() - t0) / probeEveryMs); // fell behind: skip, don't burst
      const p = probeClient.request({ path: '/health', timeoutMs: probeTimeoutMs }).then((r) => {
        probes.push({ start: r.start, end: r.end, ms: r.ms, status: r.status, error: r.error,
          code: r.json?.error?.code, text: r.text });
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  })();

  // The writers: each its own entity and client ids; a refused id is sent again.
  const writers = [];
  for (let w = 0; w < writerCount; w++) {
    const entityId = uniq(`res-w${w}`);
    const state = { entityId, attempted: new Set(), acked: new Set(), answers: [], wrongIds: 0 };
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
        state.answers.push({ id, start: r.start, end: r.end, ms: r.ms, status: r.status, error: r.error,
          headers: r.headers ?? {}, json: r.json, text: r.text });
        if (isAck(r)) {
          if (r.json?.data?.id !== id) state.wrongIds++;
          state.acked.add(id);
          n++;
        } else {
          await sleep(20);
        }
      }
    })();
  }

  const crashes = [];
  const crashCount = Object.fromEntries(ACTORS.map((a) => [a, 0]));
  let hang;
  let recovered = false;
  try {
    // A warm-up second (connections opened, code paths hot) before any fault.
    await sleep(1000);
    const measureFrom = now();
    for (let round = 0; round < rounds; round++) {
      for (const actor of ACTORS) {
        const at = now();
        const r = await admin.request({ method: 'POST', path: `/admin/faults/${actor}/crash` });
        assert.equal(r.status, 202, `crash ${actor}: ${r.status} ${r.text}`);
        crashes.push({ actor, at });
        crashCount[actor]++;
        await sleep(spacingMs);
      }
    }
    const hangAt = now();
    const h = await admin.request({ method: 'POST', path: `/admin/faults/ingest/hang?ms=${hangMs}` });
    assert.equal(h.status, 202, `hang ingest: ${h.status} ${h.text}`);
    hang = { start: hangAt, end: hangAt + hangMs };
    // The marker of recovery: every writer has a write acknowledged that it sent after
    // the hang ended.
    const deadline = hang.end + recoveryLimitMs;
    for (;;) {
      recovered = writers.every((w) => w.answers.some((a) => isAck(a) && a.start >= hang.end));
      if (recovered || now() > deadline) break;
      await sleep(20);
    }
    await sleep(tailMs);
    return { probes, writers, crashes, crashCount, hang, measureFrom, recovered };
  } finally {
    running = false;
    await prober;
    await Promise.all(writers.map((w) => w.done));
    admin.close();
    probeClient.close();
    writeClient.close();
  }
}
