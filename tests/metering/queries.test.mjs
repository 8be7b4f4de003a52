// Meter queries through @openmeter/sdk against the real binary: seven meters (one per
// aggregation) over one event type, ~300 CloudEvents over three days around the
// Europe/Berlin DST change (2024-10-27), a retried batch, late events, future events;
// every query's rows compared with a computation of this file (lib.mjs expectedRows).
// Also: a meter created after the events (back-fill), eventFrom, CSV, POST queries,
// subjects and group-by values.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, START_TIMEOUT_MS } from '../integration/lib/server.mjs';
import {
  API_KEY, client, retry503, raw, expectedRows, assertRows, prng, Ledger, windowOf,
} from './lib.mjs';

const T = { timeout: 60_000 };
const EVENT_TYPE = 'llm-prompt';
const GROUP_BY = { model: '$.model', region: '$.meta.region' };
const AGGREGATIONS = ['SUM', 'COUNT', 'UNIQUE_COUNT', 'AVG', 'MIN', 'MAX', 'LATEST'];
const SUBJECTS = ['cust-a', 'cust-b', 'cust-c', 'cust-d', 'cust-e'];
const MODELS = ['gpt-4', 'gpt-4o', 'claude-3'];
const REGIONS = ['eu', 'us', null]; // null: no meta.region (a null group value)
const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9'];

const D = (s) => new Date(s);
const START = D('2024-10-26T00:00:00Z');
const END = D('2024-10-29T00:00:00Z');
const NOW = Math.floor(Date.now() / 1000) * 1000;

let srv;
let om;
let ledger;
const meters = {}; // aggregation -> meter definition as created

function meterDef(aggregation) {
  const def = {
    slug: `tokens_${aggregation.toLowerCase()}`,
    name: `Tokens ${aggregation}`,
    description: `${aggregation} of tokens`,
    aggregation,
    eventType: EVENT_TYPE,
    groupBy: { ...GROUP_BY },
  };
  if (aggregation === 'UNIQUE_COUNT') def.valueProperty = '$.user';
  else if (aggregation !== 'COUNT') def.valueProperty = '$.tokens';
  return def;
}

// ------------------------------------------------------------------ data set

const rnd = prng(20241027);
let idn = 0;
function event(time, { subject, model, region, tokens, user, source } = {}) {
  const data = {
    tokens: tokens ?? tokenValue(),
    model: model ?? rnd.pick(MODELS),
    user: user ?? rnd.pick(USERS),
  };
  const r = region === undefined ? rnd.pick(REGIONS) : region;
  if (r !== null) data.meta = { region: r, zone: `${r}-1` };
  return {
    id: `evt-${String(++idn).padStart(4, '0')}`,
    source: source ?? 'metering-test',
    specversion: '1.0',
    type: EVENT_TYPE,
    subject: subject ?? rnd.pick(SUBJECTS),
    time: new Date(time),
    data,
  };
}

// Integers, quarter fractions (exact in binary) and numeric strings.
function tokenValue() {
  const k = rnd.int(10);
  if (k < 6) return 1 + rnd.int(1000);
  if (k < 8) return (1 + rnd.int(400)) / 4;
  return String(1 + rnd.int(500));
}

// Distinct whole seconds for the bulk, so that LATEST has no accidental ties.
const usedSeconds = new Set();
function take(ms) {
  usedSeconds.add(Math.floor(ms / 1000));
  return ms;
}
function freeSecond(from, to) {
  for (;;) {
    const s = Math.floor(from / 1000) + rnd.int(Math.floor((to - from) / 1000));
    if (!usedSeconds.has(s)) return take(s * 1000);
  }
}

const fixed = [];
// Window edges in UTC and in Europe/Berlin (CEST until 2024-10-27T01:00Z, then CET):
// Berlin days: 26th = [25T22:00Z, 26T22:00Z), 27th = [26T22:00Z, 27T23:00Z) (25 h), 28th = [27T23:00Z, 28T23:00Z).
for (const t of [
  '2024-10-26T00:00:00Z', '2024-10-26T21:59:59Z', '2024-10-26T22:00:00Z', '2024-10-26T23:59:59Z',
  '2024-10-27T00:00:00Z', '2024-10-27T00:59:59Z', '2024-10-27T01:00:00Z', '2024-10-27T01:59:59Z',
  '2024-10-27T22:00:00Z', '2024-10-27T22:59:59Z', '2024-10-27T23:00:00Z', '2024-10-27T23:59:59Z',
  '2024-10-28T00:00:00Z', '2024-10-28T22:59:59Z', '2024-10-28T23:00:00Z', '2024-10-28T23:59:59Z',
]) fixed.push(event(take(Date.parse(t))));
// Sub-second times around the MINUTE query [00:55:00.700, 01:05:00.300): whole seconds count.
for (const t of [
  '2024-10-27T00:54:59.999Z', // before from's second: out
  '2024-10-27T00:55:00.300Z', // from's second, earlier ms: in
  '2024-10-27T01:04:59.900Z', // in
  '2024-10-27T01:05:00.100Z', // to's second: out
]) fixed.push(event(take(Date.parse(t))));
// In the same second as 00:55:00.300 and later: sent last (with the late events), so that
// LATEST picks it whether times compare to the millisecond or to the second.
const sameSecondLater = event(Date.parse('2024-10-27T00:55:00.900Z'));
for (let i = 0; i < 14; i++) fixed.push(event(freeSecond(Date.parse('2024-10-27T00:55:01Z'), Date.parse('2024-10-27T01:05:00Z'))));

// LATEST ties: the same time, subject and groups, in two batches; the one stored last wins.
const TIE = Date.parse('2024-10-27T12:59:59Z');
take(TIE);
const tieFirst = event(TIE, { subject: 'cust-a', model: 'gpt-4', region: 'eu', tokens: 900, user: 'u1' });
const tieLast = event(TIE, { subject: 'cust-a', model: 'gpt-4', region: 'eu', tokens: 3, user: 'u2' });

// Month edges: UTC September vs Berlin October, UTC October vs Berlin November.
const monthEdges = ['2024-09-30T21:30:00Z', '2024-09-30T22:30:00Z', '2024-10-31T22:59:59Z', '2024-10-31T23:30:00Z']
  .map((t) => event(take(Date.parse(t))));

const bulk = [];
for (let i = 0; i < 200; i++) bulk.push(event(freeSecond(START.getTime(), END.getTime())));
// The same id from another source is another event.
const otherSource = event(freeSecond(START.getTime(), END.getTime()), { source: 'other-source' });
otherSource.id = bulk[0].id;

// Late: old times, sent after everything else.
const late = [];
for (let i = 0; i < 16; i++) late.push(event(freeSecond(START.getTime(), Date.parse('2024-10-26T06:00:00Z'))));
late.push(sameSecondLater);
// Future: after now.
const future = [1, 2, 26].map((h) => event(NOW + h * 3_600_000 + 17_000));

function batches() {
  const pool = rnd.shuffle([...fixed, ...bulk, otherSource, ...monthEdges.slice(2)]);
  const out = [];
  for (let i = 0; i < pool.length; i += 40) out.push(pool.slice(i, i + 40));
  out[0].push(tieFirst);
  out[out.length - 1].push(tieLast);
  out[1].push(...future);
  return out;
}

// ------------------------------------------------------------------ setup

before(async () => {
  srv = await startServer({ args: ['--api-key', API_KEY] });
  om = client(srv);
  ledger = new Ledger(om);
  for (const a of AGGREGATIONS) {
    const created = await om.meters.create(meterDef(a));
    meters[a] = meterDef(a);
    assert.equal(created.slug, meters[a].slug);
  }
  const list = batches();
  for (let i = 0; i < list.length; i++) {
    await ledger.ingest(list[i]);
    if (i === 2) {
      // Retried: the same batch again (the client did not see the 204).
      await ledger.ingest(list[1].map((e) => ({ ...e, data: structuredClone(e.data) })));
    }
    if (i === 3) {
      // Partly retried: five stored events and five new ones.
      await ledger.ingest([...list[0].slice(0, 5), ...late.splice(0, 5)]);
    }
  }
  await ledger.ingest(late); // late events, old times
  await ledger.ingest(monthEdges.slice(0, 2)); // late too: September
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

// The query object is copied: the SDK turns its Dates into strings in place.
function copy(q) {
  return structuredClone(q);
}

async function check(aggregation, q, label) {
  const m = meters[aggregation];
  const res = await retry503(() => om.meters.query(m.slug, copy(q)));
  assert.ok(Array.isArray(res.data), `${label}: data is an array`);
  if (q.windowSize) assert.equal(res.windowSize, q.windowSize, `${label}: windowSize echoed`);
  assert.equal(res.from?.getTime(), q.from.getTime(), `${label}: from echoed`);
  assert.equal(res.to?.getTime(), q.to.getTime(), `${label}: to echoed`);
  const want = expectedRows(ledger.stored, m, q);
  assertRows(res.data, want, `${m.slug} ${label}`, q);
  return { res, want };
}

// Queries asked of every meter.
const QUERIES = {
  'whole range incl. September and the future, no window': { from: D('2024-09-01T00:00:00Z'), to: new Date(NOW + 3 * 86_400_000) },
  'three days, groupBy subject': { from: START, to: END, groupBy: ['subject'] },
  'three days, groupBy model+region': { from: START, to: END, groupBy: ['model', 'region'] },
  'three days, groupBy subject+model+region': { from: START, to: END, groupBy: ['subject', 'model', 'region'] },
  'HOUR UTC, groupBy model': { from: START, to: END, windowSize: 'HOUR', groupBy: ['model'] },
  'DAY UTC, groupBy subject': { from: START, to: END, windowSize: 'DAY', groupBy: ['subject'] },
  'DAY UTC explicit, no groupBy': { from: START, to: END, windowSize: 'DAY', windowTimeZone: 'UTC' },
  'DAY Europe/Berlin (25-hour day), groupBy region': {
    from: START, to: END, windowSize: 'DAY', windowTimeZone: 'Europe/Berlin', groupBy: ['region'],
  },
  'DAY Europe/Berlin, groupBy subject+model': {
    from: D('2024-10-25T22:00:00Z'), to: D('2024-10-28T23:00:00Z'), windowSize: 'DAY', windowTimeZone: 'Europe/Berlin', groupBy: ['subject', 'model'],
  },
  'HOUR Europe/Berlin across the DST change': {
    from: D('2024-10-26T20:00:00Z'), to: D('2024-10-27T04:00:00Z'), windowSize: 'HOUR', windowTimeZone: 'Europe/Berlin', groupBy: ['subject'],
  },
  'MINUTE, unaligned sub-second range': {
    from: D('2024-10-27T00:55:00.700Z'), to: D('2024-10-27T01:05:00.300Z'), windowSize: 'MINUTE', groupBy: ['subject', 'model'],
  },
  'MONTH UTC': { from: D('2024-09-01T00:00:00Z'), to: D('2024-12-01T00:00:00Z'), windowSize: 'MONTH', groupBy: ['region'] },
  'MONTH Europe/Berlin': {
    from: D('2024-09-01T00:00:00Z'), to: D('2024-12-01T00:00:00Z'), windowSize: 'MONTH', windowTimeZone: 'Europe/Berlin',
  },
  'one subject, no groupBy': { from: START, to: END, subject: ['cust-a'] },
  'one subject, HOUR': { from: START, to: END, subject: ['cust-c'], windowSize: 'HOUR' },
  // As OpenMeter: several subjects without groupBy=subject, one row per subject.
  'two subjects, no groupBy, HOUR': { from: START, to: END, subject: ['cust-c', 'cust-a'], windowSize: 'HOUR' },
  'two subjects with groupBy=subject, DAY Berlin': {
    from: START, to: END, subject: ['cust-a', 'cust-c'], groupBy: ['subject'], windowSize: 'DAY', windowTimeZone: 'Europe/Berlin',
  },
  'filterGroupBy model, groupBy region': { from: START, to: END, filterGroupBy: { model: 'gpt-4' }, groupBy: ['region'] },
  'filterGroupBy model+region, groupBy subject, DAY': {
    from: START, to: END, filterGroupBy: { model: 'claude-3', region: 'eu' }, groupBy: ['subject'], windowSize: 'DAY',
  },
  'unaligned from/to, DAY Berlin': {
    from: D('2024-10-26T21:59:59.500Z'), to: D('2024-10-27T23:00:00.000Z'), windowSize: 'DAY', windowTimeZone: 'Europe/Berlin', groupBy: ['model'],
  },
};

for (const aggregation of AGGREGATIONS) {
  test(`${aggregation}: every query matches the events sent`, T, async () => {
    for (const [label, q] of Object.entries(QUERIES)) await check(aggregation, q, label);
  });
}

// ------------------------------------------------------------------ data-set sanity

test('the reference itself: the data set covers what the queries are about', T, () => {
  const count = (pred) => ledger.stored.filter(({ event }) => pred(event)).length;
  // Retries stored nothing twice; the same id from another source is another event.
  assert.equal(ledger.stored.length, fixed.length + bulk.length + 1 + 2 + monthEdges.length + late.length + 5 + future.length);
  assert.equal(late.length, 12);
  assert.ok(count((e) => e.source === 'other-source') === 1);
  // The 25-hour Berlin day has events in its 25th hour ([27T22:00Z, 27T23:00Z)).
  const [ws, we] = windowOf(Date.parse('2024-10-27T22:30:00Z'), 'DAY', 'Europe/Berlin');
  assert.equal(new Date(ws).toISOString(), '2024-10-26T22:00:00.000Z');
  assert.equal(we - ws, 25 * 3_600_000);
  assert.ok(count((e) => e.time.getTime() >= Date.parse('2024-10-27T22:00:00Z') && e.time.getTime() < we) >= 2);
  const [ms] = windowOf(Date.parse('2024-09-30T22:30:00Z'), 'MONTH', 'Europe/Berlin');
  assert.equal(new Date(ms).toISOString(), '2024-09-30T22:00:00.000Z');
  assert.ok(count((e) => e.data.meta === undefined) > 10, 'events without a region');
});

test('specific numbers: the retried batch is counted once, the LATEST tie goes to the one stored last', T, async () => {
  const q = { from: D('2024-10-27T12:00:00Z'), to: D('2024-10-27T13:00:00Z'), subject: ['cust-a'], groupBy: ['subject', 'model', 'region'], filterGroupBy: { model: 'gpt-4', region: 'eu' } };
  const res = await retry503(() => om.meters.query(meters.LATEST.slug, copy(q)));
  assert.equal(res.data.length, 1, JSON.stringify(res.data));
  assert.equal(res.data[0].value, 3, 'LATEST of two events at the same time: the one stored last (tokens 3)');
  const all = await retry503(() => om.meters.query(meters.COUNT.slug, { from: D('2024-01-01T00:00:00Z'), to: new Date(NOW + 10 * 86_400_000) }));
  assert.equal(all.data.length, 1);
  assert.equal(all.data[0].value, ledger.stored.length, 'COUNT over everything = distinct (source, id) sent');
});

// ------------------------------------------------------------------ POST query, CSV

test('POST /query (SDK queryPost) answers the same rows as GET', T, async () => {
  for (const a of ['SUM', 'UNIQUE_COUNT', 'LATEST']) {
    const m = meters[a];
    for (const label of ['DAY Europe/Berlin, groupBy subject+model', 'filterGroupBy model+region, groupBy subject, DAY', 'two subjects with groupBy=subject, DAY Berlin']) {
      const q = QUERIES[label];
      const body = copy(q);
      if (body.filterGroupBy) body.filterGroupBy = Object.fromEntries(Object.entries(body.filterGroupBy).map(([k, v]) => [k, [v]]));
      const res = await retry503(() => om.meters.queryPost(m.slug, body));
      assertRows(res.data, expectedRows(ledger.stored, m, q), `${m.slug} POST ${label}`, q);
    }
  }
});

function parseCsv(text) {
  const lines = text.split('\n').filter((l) => l !== '').map((l) => l.replace(/\r$/, ''));
  // The values here need no quoting (asserted: no quote character anywhere).
  assert.ok(!text.includes('"'), 'no quoted fields expected in this data');
  const header = lines[0].split(',');
  return { header, rows: lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v]))) };
}

test('Accept: text/csv answers CSV with a header line and the same numbers', T, async () => {
  for (const a of ['SUM', 'AVG', 'COUNT']) {
    const m = meters[a];
    for (const [label, q] of [
      ['DAY Berlin by subject+model', QUERIES['DAY Europe/Berlin, groupBy subject+model']],
      ['whole range', QUERIES['three days, groupBy subject+model+region']],
    ]) {
      const params = new URLSearchParams({ from: q.from.toISOString(), to: q.to.toISOString() });
      if (q.windowSize) params.set('windowSize', q.windowSize);
      if (q.windowTimeZone) params.set('windowTimeZone', q.windowTimeZone);
      for (const g of q.groupBy ?? []) params.append('groupBy', g);
      const res = await retry503(async () => {
        const r = await raw(srv, 'GET', `/api/v1/meters/${m.slug}/query?${params}`, { headers: { accept: 'text/csv' } });
        if (r.status === 503) throw Object.assign(new Error('503'), { status: 503 });
        return r;
      });
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type'), /^text\/csv\b/);
      const { header, rows } = parseCsv(res.text);
      const keys = (q.groupBy ?? []).filter((k) => k !== 'subject');
      for (const col of ['window_start', 'window_end', 'subject', 'value', ...keys]) {
        assert.ok(header.includes(col), `${label}: CSV header ${header} has ${col}`);
      }
      const asRows = rows.map((r) => ({
        value: Number(r.value),
        windowStart: r.window_start,
        windowEnd: r.window_end,
        subject: r.subject === '' ? null : r.subject,
        groupBy: Object.fromEntries(keys.map((k) => [k, r[k] === '' ? null : r[k]])),
      }));
      const want = expectedRows(ledger.stored, m, q);
      // CSV values are printed with 6 decimals: compare rounded.
      const rounded = (rs) => rs.map((r) => ({ ...r, value: Math.round(r.value * 1e6) / 1e6 }));
      assertRows(rounded(asRows), rounded(want), `${m.slug} CSV ${label}`, q);
    }
  }
});

// ------------------------------------------------------------------ subjects, group-by values

test('subjects and group-by values of a meter', T, async () => {
  const m = meters.SUM;
  const subjects = await raw(srv, 'GET', `/api/v1/meters/${m.slug}/subjects`);
  assert.equal(subjects.status, 200, subjects.text);
  const wantSubjects = [...new Set(ledger.stored.map(({ event }) => event.subject))].sort();
  assert.deepEqual([...subjects.json].sort(), wantSubjects);

  const inRange = ledger.stored.map(({ event }) => event)
    .filter((e) => e.time >= START && e.time < END);
  const models = await om.meters.listGroupByValues(m.slug, 'model', { from: START, to: END });
  assert.deepEqual([...models].sort(), [...new Set(inRange.map((e) => e.data.model))].sort());
  const regions = await om.meters.listGroupByValues(m.slug, 'region', { from: START, to: END });
  assert.deepEqual([...regions].sort(), ['eu', 'us'], `regions: ${JSON.stringify(regions)}`);
});

test('group-by values honour the from/to the SDK sends', T, async () => {
  const m = meters.SUM;
  // Only the two September events are in this range: their models only.
  const sept = ledger.stored.map(({ event }) => event).filter((e) => e.time < D('2024-10-01T00:00:00Z'));
  assert.equal(sept.length, 2);
  const septModels = await om.meters.listGroupByValues(m.slug, 'model', { from: D('2024-09-01T00:00:00Z'), to: D('2024-10-01T00:00:00Z') });
  assert.deepEqual([...septModels].sort(), [...new Set(sept.map((e) => e.data.model))].sort());
  const none = await om.meters.listGroupByValues(m.slug, 'model', { from: D('2020-01-01T00:00:00Z'), to: D('2020-02-01T00:00:00Z') });
  assert.deepEqual(none, [], 'no events in January 2020: no values');
});

// ------------------------------------------------------------------ back-fill

test('a meter created after the events covers them (back-fill; 503 while it runs, never a partial number)', T, async () => {
  const defs = [
    { slug: 'late_sum', aggregation: 'SUM', eventType: EVENT_TYPE, valueProperty: '$.tokens', groupBy: { ...GROUP_BY } },
    { slug: 'late_unique_users', aggregation: 'UNIQUE_COUNT', eventType: EVENT_TYPE, valueProperty: '$.user', groupBy: { model: '$.model' } },
    { slug: 'late_latest', aggregation: 'LATEST', eventType: EVENT_TYPE, valueProperty: '$.tokens', groupBy: { region: '$.meta.region' } },
    { slug: 'late_count_from', aggregation: 'COUNT', eventType: EVENT_TYPE, eventFrom: D('2024-10-27T00:00:00Z'), groupBy: { model: '$.model' } },
  ];
  const queries = [
    { from: D('2024-09-01T00:00:00Z'), to: new Date(NOW + 3 * 86_400_000) },
    { from: START, to: END, windowSize: 'DAY', windowTimeZone: 'Europe/Berlin', groupBy: ['subject'] },
    { from: START, to: END, windowSize: 'HOUR' },
  ];
  for (const def of defs) {
    const created = await om.meters.create(copy(def));
    assert.equal(created.slug, def.slug);
    if (def.eventFrom) assert.equal(created.eventFrom?.getTime(), def.eventFrom.getTime());
    for (const q of [queries[0], { ...queries[0], groupBy: Object.keys(def.groupBy) }, ...queries.slice(1),
      { ...queries[2], groupBy: Object.keys(def.groupBy) }]) {
      const res = await retry503(() => om.meters.query(def.slug, copy(q)));
      assertRows(res.data, expectedRows(ledger.stored, def, q), `${def.slug} right after creation`, q);
    }
  }
  // Events after the back-fill join the same numbers once.
  const more = [event(Date.parse('2024-10-27T10:00:00.250Z')), event(Date.parse('2024-10-28T10:00:00Z'))];
  take(more[0].time.getTime());
  take(more[1].time.getTime());
  await ledger.ingest(more);
  await ledger.ingest(more);
  for (const def of defs) {
    for (const q of queries) {
      const res = await retry503(() => om.meters.query(def.slug, copy(q)));
      assertRows(res.data, expectedRows(ledger.stored, def, q), `${def.slug} after more events`, q);
    }
  }
});

test('back-fill over a few thousand events: the first 200 answer already holds all of them', T, async () => {
  const type = 'backfill-bulk';
  const r = prng(7);
  const sent = [];
  for (let b = 0; b < 6; b++) {
    const batch = [];
    for (let i = 0; i < 500; i++) {
      batch.push({
        id: `bf-${b}-${i}`, source: 'backfill', specversion: '1.0', type, subject: `bf-${r.int(20)}`,
        time: new Date(Date.parse('2024-06-01T00:00:00Z') + r.int(30 * 86_400) * 1000),
        data: { n: 1 + r.int(100), k: `k${r.int(5)}` },
      });
    }
    await ledger.ingest(batch);
    sent.push(...batch);
  }
  const def = { slug: 'backfill_bulk_sum', aggregation: 'SUM', eventType: type, valueProperty: '$.n', groupBy: { k: '$.k' } };
  await om.meters.create(copy(def));
  let unavailable = 0;
  const q = { from: D('2024-06-01T00:00:00Z'), to: D('2024-07-01T00:00:00Z'), windowSize: 'DAY', groupBy: ['k'] };
  const res = await retry503(async () => {
    try {
      return await om.meters.query(def.slug, copy(q));
    } catch (err) {
      if (err?.status === 503) unavailable++;
      throw err;
    }
  });
  assertRows(res.data, expectedRows(ledger.stored, def, q), `${def.slug} first answer (after ${unavailable} 503s)`, q);
  const total = res.data.reduce((a, row) => a + row.value, 0);
  assert.equal(total, sent.reduce((a, e) => a + e.data.n, 0));
});
