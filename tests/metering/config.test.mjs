// Meters declared with `--meters FILE` (OpenMeter's `meters:` list in YAML): they exist
// at start, count events like meters created over the API, survive a restart without
// duplicates, follow a changed file, and a bad file stops the start. METERS_FILE in the
// environment does the same.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, stopAll, makeTempDir, START_TIMEOUT_MS } from '../integration/lib/server.mjs';
import { API_KEY, client, retry503, expectedRows, assertRows, Ledger } from './lib.mjs';

const T = { timeout: 30_000 };
const D = (s) => new Date(s);

const YAML = `# OpenMeter-style configuration
meters:
  - slug: api_requests_total
    description: API requests
    eventType: request
    aggregation: COUNT
    windowSize: MINUTE
    groupBy:
      method: $.method
      route: $.route
  - slug: response_bytes
    description: "Response size: bytes"
    eventType: request
    aggregation: SUM
    valueProperty: $.bytes
    groupBy:
      method: $.method
  - slug: request_duration_max
    eventType: request
    aggregation: MAX
    valueProperty: $.duration_ms
`;

const DECLARED = {
  api_requests_total: { slug: 'api_requests_total', description: 'API requests', eventType: 'request', aggregation: 'COUNT', groupBy: { method: '$.method', route: '$.route' } },
  response_bytes: { slug: 'response_bytes', description: 'Response size: bytes', eventType: 'request', aggregation: 'SUM', valueProperty: '$.bytes', groupBy: { method: '$.method' } },
  request_duration_max: { slug: 'request_duration_max', eventType: 'request', aggregation: 'MAX', valueProperty: '$.duration_ms' },
};

let dir;
let file;
let srv;

before(async () => {
  dir = makeTempDir('usage-metrics-meters-');
  file = path.join(dir, 'meters.yaml');
  writeFileSync(file, YAML);
  srv = await startServer({ args: ['--api-key', API_KEY, '--meters', file], dataDir: path.join(dir, 'data') });
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

const events = [];
for (let i = 0; i < 40; i++) {
  events.push({
    id: `req-${i}`,
    source: 'gateway',
    specversion: '1.0',
    type: 'request',
    subject: `tenant-${i % 3}`,
    time: new Date(Date.parse('2024-05-01T10:00:00Z') + i * 37_000),
    data: {
      method: ['GET', 'POST', 'DELETE'][i % 3 === 0 ? 0 : i % 2],
      route: i % 4 === 0 ? '/v1/items' : '/v1/users',
      bytes: 100 + i * 13,
      duration_ms: ((i * 7919) % 500) / 2,
    },
  });
}
const Q = [
  { from: D('2024-05-01T00:00:00Z'), to: D('2024-05-02T00:00:00Z') },
  { from: D('2024-05-01T10:05:00Z'), to: D('2024-05-01T10:20:00Z'), windowSize: 'MINUTE', groupBy: ['subject'] },
];
const groupKeys = (slug) => Object.keys(DECLARED[slug].groupBy ?? {});

async function checkAll(om, ledger, label) {
  for (const slug of Object.keys(DECLARED)) {
    const qs = [...Q, { ...Q[0], groupBy: groupKeys(slug) }, { ...Q[0], groupBy: ['subject', ...groupKeys(slug)] }];
    for (const q of qs) {
      const res = await retry503(() => om.meters.query(slug, structuredClone(q)));
      assertRows(res.data, expectedRows(ledger.stored, DECLARED[slug], q), `${slug} ${label}`, q);
    }
  }
}

let ids;
const ledgerHolder = {};

test('meters of the file exist at start with their definitions', T, async () => {
  const om = client(srv);
  const list = await om.meters.list();
  const bySlug = Object.fromEntries(list.map((m) => [m.slug, m]));
  for (const [slug, def] of Object.entries(DECLARED)) {
    const m = bySlug[slug];
    assert.ok(m, `meter ${slug} listed: ${JSON.stringify(list.map((x) => x.slug))}`);
    for (const [k, v] of Object.entries(def)) assert.deepEqual(m[k], v, `${slug}.${k}`);
    if (!def.groupBy) assert.ok(m.groupBy === undefined || Object.keys(m.groupBy).length === 0, `${slug}.groupBy empty`);
    if (!def.valueProperty) assert.ok(m.valueProperty === undefined || m.valueProperty === null || def.aggregation === 'COUNT');
    assert.deepEqual((await om.meters.get(slug)).id, m.id);
  }
  ids = Object.fromEntries(Object.keys(DECLARED).map((s) => [s, bySlug[s].id]));
});

test('they count events sent with the SDK', T, async () => {
  const om = client(srv);
  const ledger = new Ledger(om);
  ledgerHolder.ledger = ledger;
  await ledger.ingest(events.slice(0, 25));
  await ledger.ingest(events.slice(20)); // overlapping retry
  await checkAll(om, ledger, 'after ingest');
  const total = await retry503(() => om.meters.query('api_requests_total', structuredClone(Q[0])));
  assert.equal(total.data[0].value, 40);
});

test('after a restart with the same file: the same meters (same ids, no duplicates) and numbers', T, async () => {
  await om_create_extra();
  await srv.stop();
  srv = await startServer({ args: ['--api-key', API_KEY, '--meters', file], dataDir: path.join(dir, 'data') });
  const om = client(srv);
  const list = await om.meters.list();
  for (const [slug, id] of Object.entries(ids)) {
    assert.equal(list.filter((m) => m.slug === slug).length, 1, `${slug} once`);
    assert.equal(list.find((m) => m.slug === slug).id, id, `${slug} keeps its id`);
  }
  assert.ok(list.some((m) => m.slug === 'api_made'), 'a meter created over the API stays');
  await checkAll(om, ledgerHolder.ledger, 'after restart');
});

async function om_create_extra() {
  await client(srv).meters.create({ slug: 'api_made', aggregation: 'COUNT', eventType: 'request' });
}

test('a changed file updates its meters at the next start; the API-made meter is left alone', T, async () => {
  writeFileSync(file, YAML.replace('description: API requests', 'description: All API requests')
    .replace('      route: $.route\n', '      route: $.route\n      tenant_route: $.route\n'));
  await srv.stop();
  srv = await startServer({ args: ['--api-key', API_KEY, '--meters', file], dataDir: path.join(dir, 'data') });
  const om = client(srv);
  const m = await om.meters.get('api_requests_total');
  assert.equal(m.id, ids.api_requests_total);
  assert.equal(m.description, 'All API requests');
  assert.deepEqual(m.groupBy, { method: '$.method', route: '$.route', tenant_route: '$.route' });
  assert.equal((await om.meters.get('api_made')).aggregation, 'COUNT');
  const q = { ...Q[0], groupBy: ['tenant_route'] };
  const res = await retry503(() => om.meters.query('api_requests_total', structuredClone(q)));
  assertRows(res.data, expectedRows(ledgerHolder.ledger.stored, { ...DECLARED.api_requests_total, groupBy: m.groupBy }, q), 'new group-by key', q);
});

test('a file with an invalid meter stops the start with a message naming it', T, async () => {
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'meters:\n  - slug: Bad-Slug\n    eventType: x\n    aggregation: COUNT\n');
  const s = await startServer({ args: ['--meters', bad], waitReady: false });
  let timer;
  const { code } = await Promise.race([s.exited, new Promise((r) => { timer = setTimeout(() => r({ code: 'still running' }), 10_000); })]);
  clearTimeout(timer);
  assert.notEqual(code, 0, 'exit status');
  assert.notEqual(code, 'still running', 'the server must not start with a bad --meters file');
  assert.equal(code, 2, 'exit status 2, as for any bad configuration');
  const line = JSON.parse(s.stderr.trim());
  assert.equal(line.level, 'error');
  assert.equal(line.message, 'startup error: invalid configuration');
  assert.match(line.error, /Bad-Slug|slug/, `the error names the problem: ${s.stderr}`);
});

test('METERS_FILE from the environment declares the same meters as --meters', T, async () => {
  const envDir = makeTempDir('usage-metrics-meters-env-');
  const envFile = path.join(envDir, 'meters.yaml');
  writeFileSync(envFile, YAML);
  const s = await startServer({ args: ['--api-key', API_KEY], env: { METERS_FILE: envFile }, dataDir: path.join(envDir, 'data') });
  const list = await client(s).meters.list();
  const bySlug = Object.fromEntries(list.map((m) => [m.slug, m]));
  assert.deepEqual(Object.keys(bySlug).sort(), Object.keys(DECLARED).sort());
  for (const [slug, def] of Object.entries(DECLARED)) {
    for (const [k, v] of Object.entries(def)) assert.deepEqual(bySlug[slug][k], v, `${slug}.${k}`);
  }
  assert.equal(await s.stop('SIGTERM'), 0);
});
