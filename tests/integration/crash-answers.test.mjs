// Answers after a crash between a commit and whatever the store does next with
// it (on the embedded store: before RocksDB flushes the memtable, so rollups
// live only in its WAL; on PostgreSQL: before a checkpoint): SIGKILL while
// both APIs write, restart, and every v1 answer and every meter answer must
// equal a recount from the events the store holds, which must include every
// acknowledged one. Three cycles, each killed at a different point.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, api, postEvent, listAllEvents, makeTempDir, uniq, eventually,
} from './lib/server.mjs';

after(stopAll);

const HOUR = 3_600_000;
const SUBJECTS = 3;
const MODELS = ['gpt-4', 'claude', null];

const METERS = [
  { slug: 'crash_sum', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } },
  { slug: 'crash_count', aggregation: 'COUNT' },
  { slug: 'crash_max', aggregation: 'MAX', valueProperty: '$.tokens' },
  { slug: 'crash_latest', aggregation: 'LATEST', valueProperty: '$.tokens' },
  { slug: 'crash_unique', aggregation: 'UNIQUE_COUNT', valueProperty: '$.user' },
];

const iso = (ms) => new Date(ms).toISOString();

// What a meter answers for one subject, hourly windows, from the events alone.
function recountMeter(meter, events, from, to) {
  const groups = new Map(); // windowStart|model -> {values, latest}
  for (const e of events) {
    const t = Date.parse(e.timestamp);
    if (t < from || t >= to || e.eventType !== 'tokens') continue;
    const windowStart = Math.floor(t / HOUR) * HOUR;
    const model = meter.groupBy ? (e.metadata.model ?? null) : undefined;
    const key = `${windowStart}|${model}`;
    if (!groups.has(key)) groups.set(key, { windowStart, model, values: [], latest: null });
    const g = groups.get(key);
    if (meter.aggregation === 'UNIQUE_COUNT') g.values.push(e.metadata.user);
    else g.values.push(meter.aggregation === 'COUNT' ? 1 : e.metadata.tokens);
    if (!g.latest || t > g.latest.t) g.latest = { t, v: e.metadata.tokens };
  }
  const out = [];
  for (const g of groups.values()) {
    let value;
    switch (meter.aggregation) {
      case 'SUM': value = g.values.reduce((a, b) => a + b, 0); break;
      case 'COUNT': value = g.values.length; break;
      case 'MAX': value = Math.max(...g.values); break;
      case 'LATEST': value = g.latest.v; break;
      case 'UNIQUE_COUNT': value = new Set(g.values).size; break;
      default: throw new Error(meter.aggregation);
    }
    out.push(`${iso(g.windowStart)} ${g.model === undefined ? '' : JSON.stringify(g.model)} ${value}`);
  }
  return out.sort();
}

function answeredMeter(body, meter) {
  return body.data.map((row) => {
    const model = meter.groupBy ? JSON.stringify(row.groupBy?.model ?? null) : '';
    return `${row.windowStart} ${model} ${row.value}`;
  }).sort();
}

test('SIGKILL between a commit and the store\'s next flush ×3: every v1 and meter answer equals a recount', { timeout: 180_000 }, async () => {
  const dataDir = makeTempDir();
  const run = uniq('crashans');
  const subjects = Array.from({ length: SUBJECTS }, (_, k) => `${run}-s${k}`);
  const start = Date.now() - 3 * HOUR;
  const acked = new Set();
  const sent = new Set();
  let tick = 0;
  // Distinct times (no LATEST ties), spread over three hours and a little over
  // the hour boundaries.
  const nextTime = () => start + ((tick++ * 7919) % (3 * HOUR - 1000));
  const payload = (n) => ({
    tokens: (n % 17) + 1, model: MODELS[n % MODELS.length], user: `u${n % 11}`,
  });

  const first = await startServer({ dataDir });
  for (const m of METERS) {
    const r = await api(first, 'POST', '/api/v1/meters', { body: { eventType: 'tokens', ...m } });
    assert.equal(r.status, 201, r.text);
  }
  await first.kill9();

  for (let cycle = 0; cycle < 3; cycle++) {
    const s = await startServer({ dataDir });
    let stopping = false;
    let n = 0;
    const batchWriter = async (w) => {
      while (!stopping) {
        const events = Array.from({ length: 40 }, () => {
          const k = n++;
          return {
            specversion: '1.0', id: `${run}-c${cycle}-b${w}-${k}`, source: 'crash-test', type: 'tokens',
            subject: subjects[k % SUBJECTS], time: iso(nextTime()), data: payload(k),
          };
        });
        for (const e of events) sent.add(e.id);
        try {
          const r = await api(s, 'POST', '/api/v1/events', {
            body: events, headers: { 'content-type': 'application/cloudevents-batch+json' }, timeoutMs: 10_000,
          });
          if (r.status !== 204) throw new Error(`batch: ${r.status} ${r.text}`);
          for (const e of events) acked.add(e.id);
        } catch (err) {
          if (stopping) return;
          throw err;
        }
      }
    };
    const singleWriter = async () => {
      while (!stopping) {
        const k = n++;
        const id = `${run}-c${cycle}-v-${k}`;
        sent.add(id);
        try {
          const r = await postEvent(s, {
            id, entityId: subjects[k % SUBJECTS], eventType: k % 4 ? 'tokens' : 'other',
            timestamp: iso(nextTime()), metadata: payload(k),
          }, { timeoutMs: 10_000 });
          if (r.status !== 201) throw new Error(`single: ${r.status} ${r.text}`);
          acked.add(id);
        } catch (err) {
          if (stopping) return;
          throw err;
        }
      }
    };
    const ackedBefore = acked.size;
    const writers = [batchWriter(0), batchWriter(1), singleWriter()];
    await eventually(() => acked.size - ackedBefore > 300 + 170 * cycle,
      { timeoutMs: 60_000, intervalMs: 5, what: `cycle ${cycle}: acknowledgements before the kill` });
    stopping = true;
    const killed = s.kill9();
    await Promise.all(writers);
    await killed;

    const r = await startServer({ dataDir });
    try {
      const stored = [];
      for (const subject of subjects) {
        const { events, total } = await listAllEvents(r, subject);
        assert.equal(events.length, total, `${subject}: the listing holds its total`);
        stored.push(...events);
      }
      const ids = new Set(stored.map((e) => e.id));
      assert.equal(ids.size, stored.length, 'no event stored twice');
      for (const id of acked) assert.ok(ids.has(id), `cycle ${cycle}: acknowledged ${id} lost`);
      for (const id of ids) assert.ok(sent.has(id), `cycle ${cycle}: ${id} was never sent`);

      const since = iso(start - HOUR);
      const until = iso(Date.now() + HOUR);
      for (const subject of subjects) {
        const mine = stored.filter((e) => e.entityId === subject);
        const byType = {};
        for (const e of mine) byType[e.eventType] = (byType[e.eventType] ?? 0) + 1;
        const usage = await api(r, 'GET', `/v1/usage/${encodeURIComponent(subject)}?since=${since}&until=${until}`);
        assert.equal(usage.status, 200, usage.text);
        assert.equal(usage.json.data.totalEvents, mine.length, `cycle ${cycle} ${subject}: totalEvents`);
        assert.deepEqual(usage.json.data.byEventType, byType, `cycle ${cycle} ${subject}: byEventType`);

        for (const interval of ['minute', 'hour']) {
          const buckets = new Map();
          const width = interval === 'hour' ? HOUR : 60_000;
          for (const e of mine) {
            const b = Math.floor(Date.parse(e.timestamp) / width) * width;
            buckets.set(b, (buckets.get(b) ?? 0) + 1);
          }
          const expected = [...buckets.entries()].sort((a, b) => a[0] - b[0])
            .map(([b, count]) => ({ timestamp: iso(b), count }));
          const h = await api(r, 'GET', `/v1/usage/${encodeURIComponent(subject)}/history?interval=${interval}&since=${since}&until=${until}`);
          assert.equal(h.status, 200, h.text);
          assert.deepEqual(h.json.data.dataPoints, expected, `cycle ${cycle} ${subject}: ${interval} history`);
        }

        const from = Math.floor((start - HOUR) / HOUR) * HOUR;
        const to = Math.ceil((Date.now() + HOUR) / HOUR) * HOUR;
        for (const meter of METERS) {
          const q = new URLSearchParams({ from: iso(from), to: iso(to), windowSize: 'HOUR', subject });
          if (meter.groupBy) q.append('groupBy', 'model');
          let answer;
          await eventually(async () => {
            answer = await api(r, 'GET', `/api/v1/meters/${meter.slug}/query?${q}`);
            return answer.status !== 503;
          }, { timeoutMs: 30_000, what: `${meter.slug} ready` });
          assert.equal(answer.status, 200, answer.text);
          assert.deepEqual(answeredMeter(answer.json, meter), recountMeter(meter, mine, from, to),
            `cycle ${cycle} ${subject}: ${meter.slug}`);
        }
      }
    } finally {
      await r.kill9();
    }
  }
});
