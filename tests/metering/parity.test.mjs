// OpenMeter parity through @openmeter/sdk against the real binary: several subjects
// in one query, CSV answers byte for byte in OpenMeter's format, validationError
// texts and data listed as sent, the subjects API (durable across a restart), the
// v1 event listing's filters, and the v2 listing paging through 10,000+ events while
// events keep arriving.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, makeTempDir, sleep, START_TIMEOUT_MS } from '../integration/lib/server.mjs';
import { API_KEY, client, retry503, raw, assertProblem, sdkRejects } from './lib.mjs';

const T = { timeout: 60_000 };
const D = (s) => new Date(s);

let srv;
let om;

before(async () => {
  srv = await startServer({ args: ['--api-key', API_KEY] });
  om = client(srv);
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

let n = 0;
const ce = (type, subject, time, data) => ({
  id: `parity-${++n}`, source: 'parity-test', specversion: '1.0', type, subject, time: D(time),
  ...(data === undefined ? {} : { data }),
});

/** GET or POST a query with Accept: text/csv, retried while the meter back-fills. */
async function csv(method, slug, params) {
  return retry503(async () => {
    const path = `/api/v1/meters/${slug}/query`;
    const r = method === 'GET'
      ? await raw(srv, 'GET', `${path}?${params}`, { headers: { accept: 'text/csv' } })
      : await raw(srv, 'POST', path, { body: params, headers: { accept: 'text/csv' } });
    if (r.status === 503) throw Object.assign(new Error('503'), { status: 503 });
    return r;
  });
}

// ------------------------------------------------------------------ queries: subjects, CSV

const FROM = '2024-05-01T10:00:00Z';
const TO = '2024-05-01T12:00:00Z';

async function csvMeter() {
  if (csvMeter.done) return;
  csvMeter.done = true;
  await om.meters.create({ slug: 'csv_sum', aggregation: 'SUM', eventType: 'csvt', valueProperty: '$.v', groupBy: { model: '$.model' } });
  await om.events.ingest([
    ce('csvt', 's1', '2024-05-01T10:15:00Z', { v: 1, model: 'a' }),
    ce('csvt', 's1', '2024-05-01T11:20:00.250Z', { v: 2.5, model: 'b' }),
    ce('csvt', 's2', '2024-05-01T10:30:00Z', { v: 4, model: 'a' }),
    ce('csvt', '=cmd', '2024-05-01T10:45:00Z', { v: 8, model: 'x,y' }),
    ce('csvt', 's3', '2024-05-01T12:00:00Z', { v: 100, model: 'a' }), // at `to`: not counted
  ]);
}

test('several subjects in one query: one row per subject, ordered by window then subject (GET and POST)', T, async () => {
  await csvMeter();
  const want = [
    { windowStart: '2024-05-01T10:00:00.000Z', windowEnd: '2024-05-01T11:00:00.000Z', subject: 's1', value: 1 },
    { windowStart: '2024-05-01T10:00:00.000Z', windowEnd: '2024-05-01T11:00:00.000Z', subject: 's2', value: 4 },
    { windowStart: '2024-05-01T11:00:00.000Z', windowEnd: '2024-05-01T12:00:00.000Z', subject: 's1', value: 2.5 },
  ];
  const shape = (rows) => rows.map((r) => ({
    windowStart: r.windowStart.toISOString(), windowEnd: r.windowEnd.toISOString(), subject: r.subject, value: r.value,
  }));
  const q = { from: D(FROM), to: D(TO), windowSize: 'HOUR', subject: ['s2', 's1'] };
  const got = await retry503(() => om.meters.query('csv_sum', q));
  assert.deepEqual(shape(got.data), want);
  for (const row of got.data) assert.deepEqual(row.groupBy, {});
  const posted = await retry503(() => om.meters.queryPost('csv_sum', q));
  assert.deepEqual(shape(posted.data), want);
  // With another group-by too: subject first, then the key.
  const byModel = await retry503(() => om.meters.query('csv_sum', { from: D(FROM), to: D(TO), subject: ['s1', 's2'], groupBy: ['model'] }));
  assert.deepEqual(byModel.data.map((r) => [r.subject, r.groupBy.model, r.value]), [['s1', 'a', 1], ['s1', 'b', 2.5], ['s2', 'a', 4]]);
  // Without a window, with no subject named: every subject's row.
  const all = await retry503(() => om.meters.query('csv_sum', { from: D(FROM), to: D(TO), subject: ['s1', 's2', 'nobody'] }));
  assert.deepEqual(all.data.map((r) => [r.subject, r.value]), [['s1', 3.5], ['s2', 4]]);
});

test('CSV answers are OpenMeter\'s bytes: windowed, by subject, by group, no grouping (GET and POST)', T, async () => {
  await csvMeter();
  const cases = [
    ['windowed', { windowSize: 'HOUR' },
      'window_start,window_end,subject,value\n'
      + '2024-05-01T10:00:00Z,2024-05-01T11:00:00Z,,13.000000\n'
      + '2024-05-01T11:00:00Z,2024-05-01T12:00:00Z,,2.500000\n'],
    // A text cell a spreadsheet would run as a formula gets a leading ' (OpenMeter writes it as is).
    ['by subject', { groupBy: ['subject'] },
      'window_start,window_end,subject,value\n'
      + '2024-05-01T10:00:00Z,2024-05-01T12:00:00Z,\'=cmd,8.000000\n'
      + '2024-05-01T10:00:00Z,2024-05-01T12:00:00Z,s1,3.500000\n'
      + '2024-05-01T10:00:00Z,2024-05-01T12:00:00Z,s2,4.000000\n'],
    ['by group', { groupBy: ['model'] },
      'window_start,window_end,subject,model,value\n'
      + '2024-05-01T10:00:00Z,2024-05-01T12:00:00Z,,a,5.000000\n'
      + '2024-05-01T10:00:00Z,2024-05-01T12:00:00Z,,b,2.500000\n'
      + '2024-05-01T10:00:00Z,2024-05-01T12:00:00Z,,"x,y",8.000000\n'],
    ['no grouping', {},
      'window_start,window_end,subject,value\n'
      + '2024-05-01T10:00:00Z,2024-05-01T12:00:00Z,,15.500000\n'],
    ['two subjects, windowed', { windowSize: 'HOUR', subject: ['s2', 's1'] },
      'window_start,window_end,subject,value\n'
      + '2024-05-01T10:00:00Z,2024-05-01T11:00:00Z,s1,1.000000\n'
      + '2024-05-01T10:00:00Z,2024-05-01T11:00:00Z,s2,4.000000\n'
      + '2024-05-01T11:00:00Z,2024-05-01T12:00:00Z,s1,2.500000\n'],
  ];
  for (const [label, extra, want] of cases) {
    const params = new URLSearchParams({ from: FROM, to: TO });
    if (extra.windowSize) params.set('windowSize', extra.windowSize);
    for (const g of extra.groupBy ?? []) params.append('groupBy', g);
    for (const s of extra.subject ?? []) params.append('subject', s);
    const get = await csv('GET', 'csv_sum', params);
    assert.equal(get.status, 200, get.text);
    assert.equal(get.headers.get('content-type'), 'text/csv', label);
    assert.equal(get.headers.get('content-disposition'), 'attachment; filename=csv_sum.csv', label);
    assert.equal(get.text, want, `GET ${label}`);
    const post = await csv('POST', 'csv_sum', { from: FROM, to: TO, ...extra });
    assert.equal(post.status, 200, post.text);
    assert.equal(post.headers.get('content-type'), 'text/csv', label);
    assert.equal(post.text, want, `POST ${label}`);
  }
});

// ------------------------------------------------------------------ events: validationError, data as sent

test('events list: validationError worded as OpenMeter\'s, data listed as sent (absent, null)', T, async () => {
  await om.meters.create({ slug: 've_sum', aggregation: 'SUM', eventType: 've', valueProperty: '$.duration_ms' });
  await om.meters.create({ slug: 've_count', aggregation: 'COUNT', eventType: 've' });
  const now = Date.now();
  const at = (i) => new Date(now - 3_600_000 + i * 1000).toISOString();
  const cases = [
    [undefined, 'invalid event: null and missing value property'],
    [null, 'invalid event: null and missing value property'],
    [{}, 'invalid event: missing value property: "$.duration_ms"'],
    [{ duration_ms: null }, 'invalid event: value cannot be null'],
    [{ duration_ms: 'NaN' }, 'invalid event: value cannot be NaN'],
    [{ duration_ms: 'Infinity' }, 'invalid event: value cannot be infinity'],
    [{ duration_ms: 'abc' }, 'invalid event: value cannot be parsed as float64: abc'],
    [{ duration_ms: true }, 'invalid event: unsupported value property type: bool'],
    [{ duration_ms: '12.5' }, undefined],
  ];
  const events = cases.map(([data], i) => ce('ve', 've-subject', at(i), data));
  await om.events.ingest(events);
  const listed = await om.events.list({ subject: 've-subject' });
  assert.equal(listed.length, cases.length, JSON.stringify(listed));
  const byId = Object.fromEntries(listed.map((x) => [x.event.id, x]));
  cases.forEach(([data, error], i) => {
    const item = byId[events[i].id];
    assert.equal(item.validationError, error, `validationError of data ${JSON.stringify(data)}`);
    if (data === undefined) assert.ok(!('data' in item.event), `absent data stays absent: ${JSON.stringify(item.event)}`);
    else assert.deepEqual(item.event.data, data, 'data as sent');
  });
  // The events without data count for COUNT, as OpenMeter counts them.
  const q = { from: new Date(now - 2 * 3_600_000), to: new Date(now) };
  assert.deepEqual((await retry503(() => om.meters.query('ve_count', q))).data.map((r) => r.value), [cases.length]);
  assert.deepEqual((await retry503(() => om.meters.query('ve_sum', q))).data.map((r) => r.value), [12.5]);
});

test('events list: ingestedAtFrom/To and to inclusive, id and subject partial, limit', T, async () => {
  const now = Date.now();
  const a = [ce('fl', 'flt-alpha-1', new Date(now - 50_000).toISOString(), { x: 1 }), ce('fl', 'flt-alpha-2', new Date(now - 40_000).toISOString(), { x: 2 })];
  await om.events.ingest(a);
  await sleep(30);
  const b = [ce('fl', 'flt-beta-1', new Date(now - 30_000).toISOString(), { x: 3 })];
  await om.events.ingest(b);
  const all = await om.events.list({ subject: 'flt-' });
  assert.deepEqual(all.map((x) => x.event.id), [b[0].id, a[1].id, a[0].id]);
  const lastOfA = Math.max(...all.filter((x) => x.event.subject.includes('alpha')).map((x) => x.ingestedAt.getTime()));
  const onlyB = await om.events.list({ subject: 'flt-', ingestedAtFrom: new Date(lastOfA + 1) });
  assert.deepEqual(onlyB.map((x) => x.event.id), [b[0].id]);
  const onlyA = await om.events.list({ subject: 'flt-', ingestedAtTo: new Date(lastOfA) });
  assert.deepEqual(onlyA.map((x) => x.event.id), [a[1].id, a[0].id], 'ingestedAtTo inclusive');
  const toInclusive = await om.events.list({ subject: 'flt-', from: a[0].time, to: a[1].time });
  assert.deepEqual(toInclusive.map((x) => x.event.id), [a[1].id, a[0].id], 'from and to inclusive');
  assert.deepEqual((await om.events.list({ subject: 'beta' })).map((x) => x.event.id), [b[0].id]);
  assert.deepEqual((await om.events.list({ id: a[1].id.slice(2) })).map((x) => x.event.id), [a[1].id]);
  assert.deepEqual((await om.events.list({ subject: 'flt-', limit: 1 })).map((x) => x.event.id), [b[0].id]);
  await sdkRejects(om.events.list({ limit: 101 }), 400);
  await sdkRejects(om.events.list({ from: 'yesterday' }), 400);
});

// ------------------------------------------------------------------ subjects

test('subjects: upsert one and many, get by key and id, list, delete; durable across a restart', T, async () => {
  const dataDir = makeTempDir();
  let s = await startServer({ args: ['--api-key', API_KEY], dataDir });
  let sc = client(s);
  assert.deepEqual(await sc.subjects.list(), []);
  const [one] = await sc.subjects.upsert({ key: 'cust-1', displayName: 'Customer 1', metadata: { hubspotId: '123' } });
  assert.equal(one.key, 'cust-1');
  assert.equal(one.displayName, 'Customer 1');
  assert.deepEqual(one.metadata, { hubspotId: '123' });
  assert.equal(one.stripeCustomerId, null);
  assert.equal(typeof one.id, 'string');
  assert.ok(one.id.length > 0);
  assert.ok(one.createdAt instanceof Date && one.updatedAt instanceof Date);
  const many = await sc.subjects.upsert([
    { key: 'cust-3', stripeCustomerId: 'cus_3', currentPeriodStart: D('2024-01-01T00:00:00Z'), currentPeriodEnd: D('2024-02-01T00:00:00Z') },
    { key: 'cust-2' },
  ]);
  assert.deepEqual(many.map((x) => x.key), ['cust-3', 'cust-2']);
  assert.equal(many[0].currentPeriodStart.toISOString(), '2024-01-01T00:00:00.000Z');
  assert.equal(many[1].displayName, null);
  assert.equal(many[1].metadata, null);
  // An upsert of an existing key changes what it gives and keeps the rest and the id.
  const [renamed] = await sc.subjects.upsert([{ key: 'cust-1', displayName: 'Renamed' }]);
  assert.equal(renamed.id, one.id);
  assert.equal(renamed.displayName, 'Renamed');
  assert.deepEqual(renamed.metadata, { hubspotId: '123' });
  assert.equal(renamed.createdAt.getTime(), one.createdAt.getTime());
  assert.ok(renamed.updatedAt.getTime() >= one.updatedAt.getTime());
  assert.equal((await sc.subjects.get('cust-3')).stripeCustomerId, 'cus_3');
  assert.equal((await sc.subjects.get(one.id)).key, 'cust-1');
  await sdkRejects(sc.subjects.get('nobody'), 404);
  await sdkRejects(sc.subjects.upsert([{ displayName: 'no key' }]), 400, /key/);
  assertProblem(await raw(s, 'POST', '/api/v1/subjects', { body: [] }), 400);
  assertProblem(await raw(s, 'POST', '/api/v1/subjects', { body: [{ key: 'k', metadata: 'x' }] }), 400);

  await s.stop();
  s = await startServer({ args: ['--api-key', API_KEY], dataDir });
  sc = client(s);
  const listed = await sc.subjects.list();
  assert.deepEqual(listed.map((x) => x.key), ['cust-1', 'cust-2', 'cust-3'], 'listed by key, after a restart');
  assert.equal(listed[0].displayName, 'Renamed');
  await sc.subjects.delete('cust-2');
  await sc.subjects.delete(one.id);
  await sdkRejects(sc.subjects.delete('cust-2'), 404);
  assert.deepEqual((await sc.subjects.list()).map((x) => x.key), ['cust-3']);
  await s.stop();
});

// ------------------------------------------------------------------ meter PUT

test('meter PUT: name, description and groupBy; a new group-by is back-filled over earlier events', T, async () => {
  await om.meters.create({ slug: 'put_sum', aggregation: 'SUM', eventType: 'putt', valueProperty: '$.v', groupBy: {} });
  await om.events.ingest([
    ce('putt', 'p1', '2024-06-01T10:00:00Z', { v: 1, region: 'eu' }),
    ce('putt', 'p1', '2024-06-01T10:05:00Z', { v: 2, region: 'us' }),
  ]);
  const q = { from: D('2024-06-01T00:00:00Z'), to: D('2024-06-02T00:00:00Z') };
  assert.deepEqual((await retry503(() => om.meters.query('put_sum', q))).data.map((r) => r.value), [3]);
  const updated = await om.meters.update('put_sum', { name: 'Put sum', description: 'changed', groupBy: { region: '$.region' } });
  assert.equal(updated.name, 'Put sum');
  assert.equal(updated.description, 'changed');
  assert.deepEqual(updated.groupBy, { region: '$.region' });
  const byRegion = await retry503(() => om.meters.query('put_sum', { ...q, groupBy: ['region'] }));
  assert.deepEqual(byRegion.data.map((r) => [r.groupBy.region, r.value]), [['eu', 1], ['us', 2]]);
});

// ------------------------------------------------------------------ v2 listing

test('events.listV2 pages through 10,000+ events, each once, while events keep arriving', { timeout: 240_000 }, async () => {
  const total = 10_050;
  const base = Date.parse('2024-07-01T00:00:00Z');
  const ids = new Set();
  for (let start = 0; start < total; start += 1000) {
    const batch = [];
    for (let i = start; i < Math.min(total, start + 1000); i++) {
      // Several events share each time: the cursor must order ties too.
      batch.push(ce('v2', `v2-s${i % 7}`, new Date(base + Math.floor(i / 3) * 1000).toISOString(), { i }));
      ids.add(batch[batch.length - 1].id);
    }
    await om.events.ingest(batch);
  }
  // While paging, more events arrive: newer, older and as old as the ones listed.
  let arriving = true;
  let extra = 0;
  const writer = (async () => {
    while (arriving) {
      const t = base + (extra % 3 === 0 ? -1000 : extra % 3 === 1 ? 10_000_000 : Math.floor((extra * 37) % total / 3) * 1000);
      await om.events.ingest([ce('v2', 'v2-late', new Date(t).toISOString(), { extra })]);
      extra++;
      await sleep(5);
    }
  })();
  const seen = new Map();
  let cursor;
  let pages = 0;
  let previous;
  try {
    for (;;) {
      const page = await om.events.listV2({ limit: 100, ...(cursor ? { cursor } : {}) });
      pages++;
      assert.ok(page.items.length <= 100, `page ${pages} holds ${page.items.length}`);
      for (const item of page.items) {
        const key = item.event.id;
        assert.ok(!seen.has(key), `event ${key} listed twice (page ${pages})`);
        seen.set(key, item);
        const t = item.event.time.getTime();
        if (previous !== undefined) assert.ok(t <= previous, `newest first: ${item.event.time.toISOString()} after ${new Date(previous).toISOString()}`);
        previous = t;
      }
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
      assert.ok(pages < 1000, 'the listing ends');
    }
  } finally {
    arriving = false;
    await writer;
  }
  for (const id of ids) assert.ok(seen.has(id), `event ${id} was never listed`);
  assert.ok(pages >= Math.ceil(total / 100), `${pages} pages`);
  assert.ok(extra > 0, 'events arrived while paging');
  // A filter as OpenMeter's client sends it: a JSON document.
  const filtered = await om.events.listV2({ limit: 50, filter: JSON.stringify({ subject: { $eq: 'v2-s3' }, time: { $gte: new Date(base).toISOString(), $lt: new Date(base + 30_000).toISOString() } }) });
  const want = [...Array(90).keys()].filter((i) => i % 7 === 3).length;
  assert.equal(filtered.items.length, want, JSON.stringify(filtered.items.map((x) => x.event.subject)));
  for (const item of filtered.items) assert.equal(item.event.subject, 'v2-s3');
  const like = await om.events.listV2({ limit: 5, filter: JSON.stringify({ subject: { $like: 'v2-late%' } }) });
  assert.ok(like.items.length > 0 && like.items.every((x) => x.event.subject === 'v2-late'));
  await sdkRejects(om.events.listV2({ limit: 101 }), 400, /limit/);
  await sdkRejects(om.events.listV2({ cursor: 'not-a-cursor' }), 400, /cursor/);
  await sdkRejects(om.events.listV2({ filter: JSON.stringify({ time: { $gt: '2024-01-01T00:00:00Z' }, ingestedAt: { $gt: '2024-01-01T00:00:00Z' } }) }), 400, /cannot both be set/);
  await sdkRejects(om.events.listV2({ filter: '{' }), 400, /filter/);
});
