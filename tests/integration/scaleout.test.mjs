// Scale-out on PostgreSQL: two instances of the service on one database. The rollups
// live in the database and commit with the events, so an acknowledged write on one
// instance shows in the other's usage and meter answers at once (polled, at most 1 s;
// the largest lag is printed); both instances agree on every count; one client id sent
// to both at the same moment is stored once; and after SIGKILL of one instance in the
// middle of writes, every acknowledged id (from both) is stored exactly once.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  backend, startServer, stopAll, api, postEvent, listAllEvents, databaseUrlFor, makeTempDir,
  uniq, sleep, eventually,
} from './lib/server.mjs';
import { assertStoredExactlyOnce } from './lib/outcomes.mjs';

after(stopAll);

const skip = backend !== 'postgres'
  && 'PostgreSQL only: two instances share one database (USAGE_METRICS_BACKEND=postgres)';

const LAG_LIMIT_MS = 1000;
const run = uniq('so').replace(/-/g, '_'); // also a valid meter slug part
const EVENT_TYPE = `scale-${run}`;
const COUNT_SLUG = `${run}_count`;
const SUM_SLUG = `${run}_sum`;
const SOURCE = 'scaleout-test';

let pair; // {a, b, url}, started by the first test that needs it

async function instances() {
  if (pair) return pair;
  const dataDirA = makeTempDir();
  const a = await startServer({ dataDir: dataDirA });
  const url = await databaseUrlFor(dataDirA);
  const b = await startServer({ args: ['--database-url', url] }); // its own (fresh) data dir
  assert.notEqual(b.dataDir, a.dataDir);
  pair = { a, b, url };
  return pair;
}

const v1Event = (id, entityId, n) => ({ id, entityId, eventType: EVENT_TYPE, metadata: { n } });
const cloudEvent = (id, subject, n) => ({
  specversion: '1.0', id, source: SOURCE, type: EVENT_TYPE, subject, data: { n },
});

/** Posts one write (v1 or CloudEvent); returns true when acknowledged, else throws. */
async function write(server, kind, id, entityId, n, opts = {}) {
  if (kind === 'v1') {
    const r = await postEvent(server, v1Event(id, entityId, n), opts);
    // Every id written here is new: stored now, 201.
    if (r.status !== 201) throw new Error(`POST /v1/events ${id} -> ${r.status}: ${r.text}`);
    return r;
  }
  const r = await api(server, 'POST', '/api/v1/events', {
    body: cloudEvent(id, entityId, n), headers: { 'content-type': 'application/cloudevents+json' }, ...opts,
  });
  if (r.status !== 204) throw new Error(`POST /api/v1/events ${id} -> ${r.status}: ${r.text}`);
  return r;
}

/** What one instance says about an entity: usage total and type count, meter COUNT and SUM. */
async function view(server, entityId) {
  const enc = encodeURIComponent(entityId);
  const [usage, count, sum] = await Promise.all([
    api(server, 'GET', `/v1/usage/${enc}`),
    api(server, 'GET', `/api/v1/meters/${COUNT_SLUG}/query?subject=${enc}`),
    api(server, 'GET', `/api/v1/meters/${SUM_SLUG}/query?subject=${enc}`),
  ]);
  assert.equal(usage.status, 200, `usage on :${server.port}: ${usage.text}`);
  // A meter still back-filling answers 503: not an answer yet, poll again.
  for (const q of [count, sum]) {
    if (q.status === 503) return { pending: true };
    assert.equal(q.status, 200, `meter query on :${server.port}: ${q.text}`);
  }
  const total = (q) => q.json.data.reduce((s, row) => s + row.value, 0);
  return {
    totalEvents: usage.json.data.totalEvents,
    ofType: usage.json.data.byEventType[EVENT_TYPE] ?? 0,
    count: total(count),
    sum: total(sum),
  };
}

const matches = (v, want) => !v.pending && v.totalEvents === want.count && v.ofType === want.count
  && v.count === want.count && v.sum === want.sum;

/**
 * Polls `server` until it shows `want`. Returns {lag, reads}: lag is from `since` (the
 * acknowledgement) to the end of the read that showed the write, so it includes that
 * read. Fails when a read that began more than LAG_LIMIT_MS after `since` still does
 * not show it.
 */
async function lagUntil(server, entityId, want, since) {
  for (let reads = 1; ; reads++) {
    const began = performance.now();
    const last = await view(server, entityId);
    if (matches(last, want)) return { lag: performance.now() - since, reads };
    if (began - since > LAG_LIMIT_MS) {
      assert.fail(`:${server.port} did not show ${JSON.stringify(want)} ${LAG_LIMIT_MS} ms after `
        + `the acknowledgement; it shows ${JSON.stringify(last)}`);
    }
    await sleep(2);
  }
}

test('writes alternating between two instances show on the other one within 1 s; both agree at the end',
  { skip, timeout: 30_000 }, async () => {
    const { a, b } = await instances();
    // Both instances write once before the meters exist, so each has looked at the set of
    // meters already: the meters created on A below must reach B's writes all the same.
    for (const s of [a, b]) await write(s, 'v1', `${run}-warm-${s.port}`, `${run}-warm`, 1);
    const created = [
      await api(a, 'POST', '/api/v1/meters', { body: { slug: COUNT_SLUG, aggregation: 'COUNT', eventType: EVENT_TYPE } }),
      await api(a, 'POST', '/api/v1/meters', { body: { slug: SUM_SLUG, aggregation: 'SUM', eventType: EVENT_TYPE, valueProperty: '$.n' } }),
    ];
    for (const r of created) assert.equal(r.status, 201, r.text);
    // The meters created on A are B's meters too.
    for (const slug of [COUNT_SLUG, SUM_SLUG]) {
      const r = await api(b, 'GET', `/api/v1/meters/${slug}`);
      assert.equal(r.status, 200, `meter ${slug} on B: ${r.text}`);
      assert.equal(r.json.id, created[slug === COUNT_SLUG ? 0 : 1].json.id);
    }

    const entityId = `${run}-alt`;
    const want = { count: 0, sum: 0 };
    const lags = { AtoB: [], BtoA: [] };
    const ownLags = [];
    const writeMs = [];
    const WRITES = 40;
    for (let i = 0; i < WRITES; i++) {
      const [writer, reader, dir] = i % 2 === 0 ? [a, b, 'AtoB'] : [b, a, 'BtoA'];
      const kind = i % 4 < 2 ? 'v1' : 'cloud';
      const n = i + 1;
      const sentAt = performance.now();
      await write(writer, kind, `${run}-alt-${i}`, entityId, n);
      const acked = performance.now();
      writeMs.push(acked - sentAt);
      want.count += 1;
      want.sum += n;
      lags[dir].push(await lagUntil(reader, entityId, want, acked));
      ownLags.push(await lagUntil(writer, entityId, want, performance.now()));
    }

    // The lag is measured to the end of the read that showed the write, so it includes
    // one read (three queries in parallel); `first read` counts writes the very first
    // read after the acknowledgement already showed.
    const stat = (xs) => {
      const s = xs.map((x) => x.lag).sort((x, y) => x - y);
      const first = xs.filter((x) => x.reads === 1).length;
      return `max ${s[s.length - 1].toFixed(1)} ms, median ${s[Math.floor(s.length / 2)].toFixed(1)} ms, `
        + `first read ${first}/${xs.length}`;
    };
    console.log(`# cross-instance lag over ${WRITES} writes (usage + COUNT + SUM meter queries): `
      + `A→B ${stat(lags.AtoB)}; B→A ${stat(lags.BtoA)}; same instance ${stat(ownLags)}; `
      + `the writes themselves: ${stat(writeMs.map((lag) => ({ lag, reads: 1 }))).replace(/, first read.*$/, '')}`);

    // Every count, as each instance answers it.
    const [va, vb] = [await view(a, entityId), await view(b, entityId)];
    assert.deepEqual(va, { totalEvents: WRITES, ofType: WRITES, count: WRITES, sum: (WRITES * (WRITES + 1)) / 2 });
    assert.deepEqual(vb, va, 'A and B answer the same usage and meter values');
    const [la, lb] = [await listAllEvents(a, entityId), await listAllEvents(b, entityId)];
    assert.equal(la.total, WRITES);
    assert.equal(la.events.length, WRITES);
    assert.deepEqual(lb, la, 'GET /v1/events: the same events in the same order on both');
    assert.deepEqual(new Set(la.events.map((e) => e.id)),
      new Set(Array.from({ length: WRITES }, (_, i) => `${run}-alt-${i}`)));
    for (const q of [`/api/v1/meters/${COUNT_SLUG}/query?windowSize=MINUTE&groupBy=subject`,
      `/api/v1/meters/${SUM_SLUG}/query?windowSize=MINUTE&groupBy=subject`,
      `/v1/usage/${entityId}/history?interval=minute`]) {
      const [ra, rb] = [await api(a, 'GET', q), await api(b, 'GET', q)];
      assert.equal(ra.status, 200, `${q} on A: ${ra.text}`);
      assert.equal(rb.status, 200, `${q} on B: ${rb.text}`);
      // period.since defaults to each process's own start time: compare the rest.
      const data = (r) => (r.json.data?.dataPoints ?? r.json.data);
      assert.deepEqual(data(rb), data(ra), `${q}: A and B agree`);
    }
    const ce = await api(b, 'GET', `/api/v1/events?subject=${entityId}&limit=100`);
    assert.equal(ce.status, 200, ce.text);
    assert.equal(ce.json.length, WRITES, 'GET /api/v1/events on B lists every event written through A and B');
  });

test('one client id sent to both instances at the same moment is stored and counted once',
  { skip, timeout: 30_000 }, async () => {
    const { a, b } = await instances();
    const entityId = `${run}-race`;
    const ROUNDS = 30;
    let sum = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const id = `${run}-race-${i}`;
      const n = i + 1;
      sum += n;
      if (i % 2 === 0) {
        const rs = await Promise.all([postEvent(a, v1Event(id, entityId, n)), postEvent(b, v1Event(id, entityId, n))]);
        const statuses = rs.map((r) => r.status).sort();
        assert.deepEqual(statuses, [200, 201],
          `round ${i}: one instance stores (201), the other finds it stored (200): ${rs.map((r) => r.text).join(' | ')}`);
        assert.deepEqual(rs[0].json.data, rs[1].json.data, `round ${i}: both answer the one stored event`);
      } else {
        const rs = await Promise.all([a, b].map((s) => write(s, 'cloud', id, entityId, n)));
        for (const r of rs) assert.equal(r.status, 204);
      }
    }
    const want = { totalEvents: ROUNDS, ofType: ROUNDS, count: ROUNDS, sum };
    assert.deepEqual(await view(a, entityId), want, 'A counts each id once');
    assert.deepEqual(await view(b, entityId), want, 'B counts each id once');
    const { events, total } = await listAllEvents(a, entityId);
    assert.equal(total, ROUNDS);
    assert.equal(new Set(events.map((e) => e.id)).size, ROUNDS, 'no id stored twice');
  });

test('SIGKILL of B while 4 writers write through A and B: every acknowledged id is stored exactly once',
  { skip, timeout: 40_000 }, async () => {
    const { a, b } = await instances();
    const entityId = `${run}-kill`;
    const WRITERS = 4;
    const target = (w) => (w < 2 ? a : b);
    const acked = new Map(); // id -> n, answered 200/201
    const sent = new Map(); // id -> n, every id ever sent
    const ackedBy = { A: 0, B: 0 };
    let killedAt = null;
    let stopA = false;
    let cutOff = 0; // B requests that got no answer because of the kill

    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      const s = target(w);
      for (let i = 0; ; i++) {
        if (s === a && stopA) return;
        const id = `${run}-kill-w${w}-${i}`;
        const n = (w + 1) * 1000 + i;
        sent.set(id, n);
        try {
          await write(s, 'v1', id, entityId, n, { timeoutMs: 5000 });
          acked.set(id, n);
          ackedBy[s === a ? 'A' : 'B'] += 1;
        } catch (err) {
          // Only B's requests may fail, and only once B is being killed.
          if (s === b && killedAt !== null) {
            cutOff += 1;
            return;
          }
          throw err;
        }
      }
    });

    // Kill once both instances have acknowledged writes (a marker, not a fixed time).
    await eventually(() => ackedBy.A > 20 && ackedBy.B > 20,
      { timeoutMs: 20_000, intervalMs: 5, what: 'both instances acknowledged writes' });
    const beforeKill = { ...ackedBy };
    killedAt = performance.now();
    const killed = await b.kill9();
    assert.equal(killed.signal, 'SIGKILL');
    // A goes on writing after B is gone, through the rows B's open transaction held.
    const atKill = ackedBy.A;
    await eventually(() => ackedBy.A - atKill > 20,
      { timeoutMs: 20_000, intervalMs: 5, what: "A acknowledges writes after B's kill" });
    const ackedOnAAfterKill = ackedBy.A - beforeKill.A;
    stopA = true;
    await Promise.all(writers);
    console.log(`# SIGKILL of B mid-write: acknowledged A ${ackedBy.A}, B ${ackedBy.B} `
      + `(B before the kill ${beforeKill.B}); A acknowledged ${ackedOnAAfterKill} after the kill; `
      + `B requests cut off by the kill: ${cutOff}; sent ${sent.size}`);
    assert.ok(beforeKill.A > 20 && beforeKill.B > 20, `both instances acknowledged writes: ${JSON.stringify(beforeKill)}`);
    assert.ok(ackedOnAAfterKill > 5, `A kept acknowledging writes after B's kill (${ackedOnAAfterKill})`);

    const check = async (expected, label) => {
      const distinct = await assertStoredExactlyOnce(a, entityId, { acked: expected, sent, eventType: EVENT_TYPE, label });
      const sum = [...distinct].reduce((s, id) => s + sent.get(id), 0);
      const v = await view(a, entityId);
      assert.deepEqual(v, { totalEvents: distinct.size, ofType: distinct.size, count: distinct.size, sum },
        `${label}: usage and meters count the stored events`);
      return distinct;
    };
    const stored = await check(acked, 'after the kill');
    const unackedStored = [...stored].filter((id) => !acked.has(id)).length;
    console.log(`# stored ${stored.size} of ${sent.size} sent (${acked.size} acknowledged, `
      + `${unackedStored} committed by B but not acknowledged before the kill)`);

    // Retry every id that was sent but not acknowledged, through A: stored exactly once.
    for (const [id, n] of sent) {
      if (acked.has(id)) continue;
      const r = await postEvent(a, v1Event(id, entityId, n));
      assert.equal(r.status, stored.has(id) ? 200 : 201, `retry of ${id}: ${r.text}`);
      acked.set(id, n);
    }
    const final = await check(sent, 'after retrying the unacknowledged ids');
    assert.equal(final.size, sent.size);
  });
