// Consumer portal tokens (OpenMeter's /api/v1/portal/*) against the real
// binary: created, listed and invalidated with an API key; a token reads its
// own subject's usage of the meters it allows, and nothing else: every other
// route of the route table (usage-metrics --print-routes) refuses it with
// 401, with API keys configured and without. Tokens are signed with
// --portal-secret and their records stored, so they survive a restart and an
// invalidation holds across it.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import {
  api, binaryPath, makeTempDir, startServer, stopAll, sleep, START_TIMEOUT_MS,
} from './lib/server.mjs';

const KEY = 'portal-test-key';
const SECRET = 'portal-secret-of-at-least-32-characters';
const T = { timeout: 60_000 };
const auth = { Authorization: `Bearer ${KEY}` };
const FROM = '2024-03-01T00:00:00Z';
const TO = '2024-03-02T00:00:00Z';

let dir;
let srv;

function metersFile() {
  const file = path.join(dir, 'meters.yaml');
  writeFileSync(file, `meters:
  - slug: tokens
    eventType: prompt
    aggregation: SUM
    valueProperty: $.tokens
    groupBy:
      model: $.model
  - slug: prompts
    eventType: prompt
    aggregation: COUNT
`);
  return file;
}

const start = (extra = [], dataDir = dir) => startServer({
  // --fault-injection: the drill routes join the walk of the route table.
  dataDir, args: ['--api-key', KEY, '--portal-secret', SECRET, '--meters', path.join(dir, 'meters.yaml'),
    '--fault-injection', ...extra],
});

before(async () => {
  dir = makeTempDir('usage-metrics-portal-');
  metersFile();
  srv = await start([], path.join(dir, 'data'));
  const events = [];
  for (const [i, subject] of ['acme', 'acme', 'globex'].entries()) {
    events.push({
      specversion: '1.0', id: `p-${i}`, source: 'portal-test', type: 'prompt', subject,
      time: `2024-03-01T0${i}:10:00Z`, data: { tokens: 10 * (i + 1), model: i ? 'large' : 'small' },
    });
  }
  const r = await api(srv, 'POST', '/api/v1/events', {
    body: JSON.stringify(events), headers: { ...auth, 'content-type': 'application/cloudevents-batch+json' },
  });
  assert.equal(r.status, 204, r.text);
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

async function createToken(body, server = srv) {
  const r = await api(server, 'POST', '/api/v1/portal/tokens', { body, headers: auth });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

const bearer = (token) => ({ Authorization: `Bearer ${token}` });
const query = (token, slug, q = `from=${FROM}&to=${TO}`, server = srv) =>
  api(server, 'GET', `/api/v1/portal/meters/${slug}/query?${q}`, { headers: bearer(token) });

function assertProblem(r, status, detail) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
  if (detail) assert.match(r.json.detail, detail);
}

describe('portal tokens', () => {
  test('are created in OpenMeter\'s shape, with an API key only', T, async () => {
    const t = await createToken({ subject: 'acme', allowedMeterSlugs: ['tokens'], expiresAt: '2099-01-01T00:00:00Z' });
    assert.deepEqual(Object.keys(t), ['id', 'subject', 'expiresAt', 'expired', 'createdAt', 'allowedMeterSlugs', 'token']);
    assert.match(t.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(t.subject, 'acme');
    assert.equal(t.expiresAt, '2099-01-01T00:00:00.000Z');
    assert.equal(t.expired, false);
    assert.deepEqual(t.allowedMeterSlugs, ['tokens']);
    assert.match(t.token, /^om_portal_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);

    assertProblem(await api(srv, 'POST', '/api/v1/portal/tokens', { body: { subject: 'acme' } }), 401);
    assertProblem(await api(srv, 'POST', '/api/v1/portal/tokens', { body: { subject: 'acme' }, headers: bearer(t.token) }), 401);
    assertProblem(await api(srv, 'POST', '/api/v1/portal/tokens', { body: {}, headers: auth }), 400,
      /subject is required/);
    assertProblem(await api(srv, 'POST', '/api/v1/portal/tokens', {
      body: { subject: 'acme', expiresAt: '2001-01-01T00:00:00Z' }, headers: auth,
    }), 400, /expiresAt must be in the future/);
  });

  test('read their subject\'s usage of the meters they allow, and no one else\'s', T, async () => {
    const t = await createToken({ subject: 'acme', allowedMeterSlugs: ['tokens'] });
    let r = await query(t.token, 'tokens', `from=${FROM}&to=${TO}&windowSize=HOUR&groupBy=model`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.data.map((row) => [row.windowStart, row.subject, row.groupBy.model, row.value]), [
      ['2024-03-01T00:00:00.000Z', 'acme', 'small', 10],
      ['2024-03-01T01:00:00.000Z', 'acme', 'large', 20],
    ]);
    // Asking for another subject still answers the token's own.
    r = await query(t.token, 'tokens', `from=${FROM}&to=${TO}&subject=globex&groupBy=subject`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.data.map((row) => [row.subject, row.value]), [['acme', 30]]);
    // The API key's answer for globex, for contrast.
    const all = await api(srv, 'GET', `/api/v1/meters/tokens/query?from=${FROM}&to=${TO}&groupBy=subject`, { headers: auth });
    assert.deepEqual(all.json.data.map((row) => [row.subject, row.value]).sort(), [['acme', 30], ['globex', 30]]);
    // CSV as the meter query writes it.
    const csv = await api(srv, 'GET', `/api/v1/portal/meters/tokens/query?from=${FROM}&to=${TO}`,
      { headers: { ...bearer(t.token), Accept: 'text/csv' } });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type'), /^text\/csv/);
    assert.match(csv.text, /acme/);
    assert.doesNotMatch(csv.text, /globex/);

    assertProblem(await query(t.token, 'prompts'), 403, /does not allow meter prompts/);
    assertProblem(await query(t.token, 'nope'), 403);
    const any = await createToken({ subject: 'globex' });
    r = await query(any.token, 'prompts');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.data.map((row) => [row.subject, row.value]), [['globex', 1]]);
    assertProblem(await query(any.token, 'nope'), 404);
    // The meters a token may read, for the portal page.
    r = await api(srv, 'GET', '/api/v1/portal/meters', { headers: bearer(t.token) });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, [{ slug: 'tokens', name: 'tokens', aggregation: 'SUM', groupBy: ['model'] }]);
    r = await api(srv, 'GET', '/api/v1/portal/meters', { headers: bearer(any.token) });
    assert.deepEqual(r.json.map((m) => m.slug), ['prompts', 'tokens']);
  });

  test('are refused when forged, altered, expired, or without one', T, async () => {
    const t = await createToken({ subject: 'acme' });
    const [claims, sig] = t.token.split('.');
    const forged = `om_portal_${Buffer.from(JSON.stringify({ id: t.id, sub: 'globex' })).toString('base64url')}.${sig}`;
    const flipped = `${claims}.${sig.slice(0, -2)}${sig.at(-2) === 'A' ? 'B' : 'A'}${sig.at(-1)}`;
    for (const bad of [forged, flipped, 'om_portal_x.y', KEY, '']) {
      const r = await query(bad, 'tokens');
      assertProblem(r, 401);
      assert.equal(r.json.detail, 'A valid portal token is required: send Authorization: Bearer <portal token>');
    }
    assertProblem(await api(srv, 'GET', `/api/v1/portal/meters/tokens/query?from=${FROM}`, { headers: auth }), 401);
    const soon = await createToken({ subject: 'acme', expiresAt: new Date(Date.now() + 1500).toISOString() });
    assert.equal((await query(soon.token, 'tokens')).status, 200);
    await sleep(2000);
    assertProblem(await query(soon.token, 'tokens'), 401);
    const listed = (await api(srv, 'GET', '/api/v1/portal/tokens?limit=100', { headers: auth })).json;
    assert.equal(listed.find((x) => x.id === soon.id).expired, true);
  });

  test('are listed newest first without their text, and invalidated by id or by subject', T, async () => {
    const a = await createToken({ subject: 'inv-a' });
    const b = await createToken({ subject: 'inv-b' });
    const c = await createToken({ subject: 'inv-b' });
    let r = await api(srv, 'GET', '/api/v1/portal/tokens?limit=3', { headers: auth });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.map((x) => x.id), [c.id, b.id, a.id]);
    assert.ok(r.json.every((x) => !('token' in x)));
    assertProblem(await api(srv, 'GET', '/api/v1/portal/tokens?limit=0', { headers: auth }), 400, /limit/);
    assertProblem(await api(srv, 'GET', '/api/v1/portal/tokens', { headers: bearer(a.token) }), 401);

    r = await api(srv, 'POST', '/api/v1/portal/tokens/invalidate', { body: { id: a.id }, headers: auth });
    assert.equal(r.status, 204, r.text);
    assertProblem(await query(a.token, 'tokens'), 401);
    assert.equal((await query(b.token, 'tokens')).status, 200);
    r = await api(srv, 'POST', '/api/v1/portal/tokens/invalidate', { body: { subject: 'inv-b' }, headers: auth });
    assert.equal(r.status, 204);
    assertProblem(await query(b.token, 'tokens'), 401);
    assertProblem(await query(c.token, 'tokens'), 401);
    r = await api(srv, 'GET', '/api/v1/portal/tokens?limit=100', { headers: auth });
    assert.ok(!r.json.some((x) => [a.id, b.id, c.id].includes(x.id)));
    assertProblem(await api(srv, 'POST', '/api/v1/portal/tokens/invalidate', { body: {}, headers: auth }), 400,
      /id of a token or a subject/);
  });

  test('survive a restart, and an invalidation holds across it', T, async () => {
    const kept = await createToken({ subject: 'acme' });
    const gone = await createToken({ subject: 'acme' });
    await api(srv, 'POST', '/api/v1/portal/tokens/invalidate', { body: { id: gone.id }, headers: auth });
    await srv.stop();
    srv = await start([], path.join(dir, 'data'));
    assert.equal((await query(kept.token, 'tokens')).status, 200);
    assertProblem(await query(gone.token, 'tokens'), 401);
    // Another secret: every token is refused.
    const other = await startServer({
      dataDir: srv.dataDir + '-other',
      args: ['--api-key', KEY, '--portal-secret', 'another-secret-of-at-least-32-characters'],
    });
    assertProblem(await query(kept.token, 'tokens', undefined, other), 401);
  });
});

/** Every route of the table, with a request path for it. */
function routeTable() {
  const listing = JSON.parse(execFileSync(binaryPath, ['--print-routes'], { encoding: 'utf8' }));
  return listing.routes.map((r) => ({ ...r, url: r.path.replace(/:([A-Za-z]+)/g, 'x') }));
}

async function assertOnlyPortalRoutesOpen(server, token) {
  const routes = routeTable();
  assert.ok(routes.length > 20);
  for (const route of routes) {
    if (route.auth === 'none') continue;
    const methods = route.head ? [route.method, 'HEAD'] : [route.method];
    for (const method of methods) {
      const r = await api(server, method, route.url, { headers: bearer(token), body: method === 'POST' || method === 'PUT' ? {} : undefined });
      if (route.auth === 'portal-token') {
        assert.notEqual(r.status, 401, `${method} ${route.path} opens to a portal token`);
      } else {
        assert.equal(r.status, 401, `${method} ${route.path} must refuse a portal token: ${r.status} ${r.text}`);
      }
    }
    // Nor as x-api-key.
    if (route.auth === 'api-key') {
      const r = await api(server, route.method, route.url, { headers: { 'x-api-key': token }, body: route.method === 'GET' ? undefined : {} });
      assert.equal(r.status, 401, `${route.method} ${route.path} with the token as x-api-key`);
    }
  }
  return routes;
}

describe('a portal token opens nothing else', () => {
  test('every route of the table but the portal\'s refuses it, with API keys configured', T, async () => {
    const t = await createToken({ subject: 'acme' });
    const routes = await assertOnlyPortalRoutesOpen(srv, t.token);
    assert.deepEqual(routes.filter((r) => r.auth === 'portal-token').map((r) => r.path).sort(),
      ['/api/v1/portal/meters', '/api/v1/portal/meters/:meter/query']);
  });

  test('and without API keys, where every other route is open to anyone', T, async () => {
    const open = await startServer({
      args: ['--portal-secret', SECRET, '--meters', path.join(dir, 'meters.yaml'), '--fault-injection'],
    });
    const r = await api(open, 'POST', '/api/v1/portal/tokens', { body: { subject: 'acme' } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await api(open, 'GET', '/api/v1/meters')).status, 200);
    await assertOnlyPortalRoutesOpen(open, r.json.token);
  });

  test('without --portal-secret portal tokens are off', T, async () => {
    const off = await startServer({ args: ['--api-key', KEY] });
    assertProblem(await api(off, 'POST', '/api/v1/portal/tokens', { body: { subject: 'acme' }, headers: auth }), 403,
      /--portal-secret/);
    const t = await createToken({ subject: 'acme' });
    assertProblem(await query(t.token, 'tokens', undefined, off), 401);
  });
});
