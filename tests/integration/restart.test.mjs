// Durability (needs the client-id extension): events survive a graceful restart, and after
// SIGKILL mid-write every acknowledged event is there exactly once; retrying every sent id
// afterwards never double-counts.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, api, postEvent, listAllEvents, makeTempDir, uniq, sleep,
} from './lib/server.mjs';

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
          const r = await postEvent(s, bodyFor(w, id), { timeoutMs: 3000 });
          if (r.status === 201 || r.status === 200) acked[w].add(id);
          else throw new Error(`unexpected ${r.status}: ${r.text}`);
        } catch (err) {
          if (stopping) return; // the kill cut this request off
          throw err;
        }
      }
    });
    await sleep(1500 + 200 * cycle);
    // Writers stop starting new requests; the ones in flight are cut off by the kill.
    stopping = true;
    const killed = s.kill9();
    await Promise.all(writers);
    await killed;
    const ackedThisCycle = acked.reduce((n, set) => n + [...set].filter((id) => id.includes(`-c${cycle}-`)).length, 0);
    assert.ok(ackedThisCycle > 20, `cycle ${cycle}: writers got ${ackedThisCycle} acknowledgements before the kill`);

    const r = await startServer({ dataDir });
    try {
      for (let w = 0; w < WRITERS; w++) {
        const { events, total } = await listAllEvents(r, entities[w]);
        const ids = events.map((e) => e.id);
        const distinct = new Set(ids);
        assert.equal(distinct.size, ids.length, `cycle ${cycle} writer ${w}: duplicate ids stored`);
        assert.equal(total, ids.length, `cycle ${cycle} writer ${w}: pagination.total`);
        const lost = [...acked[w]].filter((id) => !distinct.has(id));
        assert.deepEqual(lost, [], `cycle ${cycle} writer ${w}: acknowledged but lost after SIGKILL`);
        const phantom = ids.filter((id) => !sent[w].has(id));
        assert.deepEqual(phantom, [], `cycle ${cycle} writer ${w}: stored ids that were never sent`);
        const usage = await usageTotal(r, entities[w]);
        assert.equal(usage.totalEvents, distinct.size, `cycle ${cycle} writer ${w}: usage count = distinct stored ids`);
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
          const res = await postEvent(r, bodyFor(w, id), { timeoutMs: 5000 });
          if (acked[w].has(id)) {
            assert.equal(res.status, 200, `retry of acknowledged ${id} must answer 200 (stored), got ${res.status}`);
            assert.equal(res.json.data.id, id);
          } else {
            assert.ok(res.status === 200 || res.status === 201, `retry of ${id}: ${res.status} ${res.text}`);
            acked[w].add(id);
          }
        }
      });
      await Promise.all(retriers);

      for (let w = 0; w < WRITERS; w++) {
        const { events, total } = await listAllEvents(r, entities[w]);
        const ids = events.map((e) => e.id).sort();
        assert.deepEqual(ids, [...sent[w]].sort(), `cycle ${cycle} writer ${w}: after retries exactly the sent ids, once each`);
        assert.equal(total, sent[w].size);
        assert.equal((await usageTotal(r, entities[w])).totalEvents, sent[w].size,
          `cycle ${cycle} writer ${w}: usage after retries`);
      }
    } finally {
      // The next cycle starts from a killed process too (graceful stop is tested above).
      await r.kill9();
    }
  }
});
