// Durability (needs the client-id extension): events survive a graceful restart, and after
// SIGKILL mid-write every acknowledged event is there exactly once; retrying every sent id
// afterwards never double-counts.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, api, postEvent, listAllEvents, makeTempDir, uniq, eventually,
} from './lib/server.mjs';
import { assertStoredExactlyOnce } from './lib/outcomes.mjs';

after(stopAll);

const SINCE_ALL = new URLSearchParams({ since: '1970-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z' }).toString();

async function usageTotal(server, entityId) {
  const r = await api(server, 'GET', `/v1/usage/${encodeURIComponent(entityId)}?${SINCE_ALL}`);
  assert.equal(r.status, 200, r.text);
  return r.json.data;
}

test('events with client ids survive a SIGTERM restart unchanged (client id extension)', { timeout: 30_000 }, async () => {
  const dataDir = makeTempDir();
  const entityId = uniq('durable');
  const a = await startServer({ dataDir });
  const posted = [];
  for (let i = 0; i < 20; i++) {
    const r = await postEvent(a, {
      id: `${entityId}-${i}`, entityId, eventType: i % 3 ? 'view' : 'click', metadata: { i, s: 'ü✓' },
    });
    assert.equal(r.status, 201, r.text);
    posted.push(r.json.data);
  }
  const batch = await api(a, 'POST', '/v1/events/batch', {
    body: { events: Array.from({ length: 10 }, (_, i) => ({ id: `${entityId}-b${i}`, entityId, eventType: 'batch', timestamp: `2024-01-01T00:00:0${i}.000Z` })) },
  });
  assert.equal(batch.status, 201, batch.text);
  const beforeList = await listAllEvents(a, entityId);
  const beforeUsage = await usageTotal(a, entityId);
  assert.equal(beforeList.total, 30);
  assert.equal(beforeUsage.totalEvents, 30);
  // The exit code is checked last, so that a bad one does not hide what the restart kept.
  const firstExit = await a.stop('SIGTERM');

  const b = await startServer({ dataDir });
  const afterList = await listAllEvents(b, entityId);
  assert.deepEqual(afterList.events, beforeList.events, 'the same events, in the same order, field for field');
  const afterUsage = await usageTotal(b, entityId);
  assert.equal(afterUsage.totalEvents, 30);
  assert.deepEqual(afterUsage.byEventType, beforeUsage.byEventType);

  // Deduplication survives the restart.
  const again = await postEvent(b, { id: `${entityId}-0`, entityId, eventType: 'click' });
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.json.data, posted[0]);
  assert.equal((await usageTotal(b, entityId)).totalEvents, 30);

  // api-self events from before the restart are durable too.
  const self = await api(b, 'GET', '/v1/events?entityId=api-self&limit=1');
  assert.ok(self.json.data.pagination.total > 0, 'api-self events persisted');
  const secondExit = await b.stop('SIGTERM');
  assert.equal(firstExit, 0, `first SIGTERM exit code; stderr: ${a.stderr}`);
  assert.equal(secondExit, 0, `second SIGTERM exit code; stderr: ${b.stderr}`);
});

test('SIGKILL mid-write ×3: every acknowledged id is stored exactly once; retries never double-count (client id extension)', { timeout: 60_000 }, async () => {
  const dataDir = makeTempDir();
  const run = uniq('crash');
  const WRITERS = 4;
  const entities = Array.from({ length: WRITERS }, (_, w) => `${run}-w${w}`);
  const acked = entities.map(() => new Set()); // ids answered 200/201, across cycles
  const sent = entities.map(() => new Set()); // every id ever sent, across cycles
  const bodyFor = (w, id) => ({ id, entityId: entities[w], eventType: 'write', metadata: { w, id } });

  for (let cycle = 0; cycle < 3; cycle++) {
    const s = await startServer({ dataDir });
    let stopping = false;
    const writers = entities.map(async (_, w) => {
      for (let i = 0; !stopping; i++) {
        const id = `${run}-c${cycle}-w${w}-${i}`;
        sent[w].add(id);
        try {
          const r = await postEvent(s, bodyFor(w, id), { timeoutMs: 10_000 });
          if (r.status === 201) acked[w].add(id); // a new id: stored now
          else throw new Error(`unexpected ${r.status}: ${r.text}`);
        } catch (err) {
          if (stopping) return; // the kill cut this request off
          throw err;
        }
      }
    });
    // Kill once the writers have had a number of acknowledgements (a different one each
    // cycle, so the kill lands at different points), not after a fixed time.
    const ackedThisCycle = () => acked.reduce((n, set) => n + [...set].filter((id) => id.includes(`-c${cycle}-`)).length, 0);
    await eventually(() => ackedThisCycle() > 40 + 25 * cycle,
      { timeoutMs: 30_000, intervalMs: 5, what: `cycle ${cycle}: acknowledgements before the kill` });
    // Writers stop starting new requests; the ones in flight are cut off by the kill.
    stopping = true;
    const killed = s.kill9();
    await Promise.all(writers);
    await killed;

    const r = await startServer({ dataDir });
    try {
      const stored = [];
      for (let w = 0; w < WRITERS; w++) {
        stored.push(await assertStoredExactlyOnce(r, entities[w], {
          acked: acked[w], sent: sent[w], label: `cycle ${cycle} writer ${w} after SIGKILL`,
        }));
      }

      // Retry every id sent in this cycle (acknowledged or not), 8 at a time.
      const jobs = [];
      entities.forEach((_, w) => {
        for (const id of sent[w]) if (id.includes(`-c${cycle}-`)) jobs.push([w, id]);
      });
      let next = 0;
      const retriers = Array.from({ length: 8 }, async () => {
        while (next < jobs.length) {
          const [w, id] = jobs[next++];
          const res = await postEvent(r, bodyFor(w, id), { timeoutMs: 10_000 });
          // 200 exactly for the ids stored before the retry (every acknowledged one, and
          // any the kill cut off after their commit), 201 for the others.
          assert.equal(res.status, stored[w].has(id) ? 200 : 201,
            `retry of ${acked[w].has(id) ? 'acknowledged' : 'unacknowledged'} ${id}: ${res.status} ${res.text}`);
          assert.equal(res.json.data.id, id);
          acked[w].add(id);
        }
      });
      await Promise.all(retriers);

      for (let w = 0; w < WRITERS; w++) {
        const all = await assertStoredExactlyOnce(r, entities[w], {
          acked: sent[w], sent: sent[w], label: `cycle ${cycle} writer ${w} after the retries`,
        });
        assert.equal(all.size, sent[w].size, `cycle ${cycle} writer ${w}: after retries exactly the sent ids, once each`);
      }
    } finally {
      // The next cycle starts from a killed process too (graceful stop is tested above).
      await r.kill9();
    }
  }
});
