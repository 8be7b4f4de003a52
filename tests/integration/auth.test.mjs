// Extension: API keys (--api-key repeated, or API_KEYS=k1,k2). Health, readiness and the
// root document stay open; everything else needs `Authorization: Bearer <key>` or
// `x-api-key: <key>`, else 401 UNAUTHORIZED with the contract error body.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, api, assertError, httpRequest, uniq, waitForRequestLog,
} from './lib/server.mjs';

const T = { timeout: 15_000 };
const K1 = 'itest-key-one-7f3a9b';
const K2 = 'itest-key-two-c41d22';

const servers = {};

before(async () => {
  [servers.flags, servers.env] = await Promise.all([
    startServer({ args: ['--api-key', K1, '--api-key', K2] }),
    startServer({ env: { API_KEYS: `${K1},${K2}` } }),
  ]);
}, { timeout: 20_000 });

after(stopAll);

const open = [['GET', '/health'], ['GET', '/ready'], ['GET', '/']];
const protectedRoutes = [
  ['GET', '/v1/events'],
  ['POST', '/v1/events', { entityId: 'auth-e', eventType: 'login' }],
  ['POST', '/v1/events/batch', { events: [{ entityId: 'auth-e', eventType: 'login' }] }],
  ['GET', '/info'],
  ['GET', '/v1/usage/stats'],
  ['GET', '/v1/usage/auth-e'],
  ['GET', '/v1/usage/auth-e/history'],
];

for (const mode of ['flags', 'env']) {
  const label = mode === 'flags' ? '--api-key k1 --api-key k2' : 'API_KEYS=k1,k2';

  test(`[${label}] /health, /ready and / are open without a key`, T, async () => {
    const s = servers[mode];
    for (const [m, p] of open) {
      const r = await api(s, m, p);
      assert.equal(r.status, 200, `${m} ${p}: ${r.text}`);
    }
  });

  test(`[${label}] no start-up warning about missing API keys`, T, async () => {
    const s = servers[mode];
    const warn = s.logs.find((l) => l.level === 'warn' && /api[ _-]?keys?/i.test(JSON.stringify(l)));
    assert.equal(warn, undefined, JSON.stringify(warn));
  });

  for (const [m, p, body] of protectedRoutes) {
    test(`[${label}] ${m} ${p} without a key → 401 UNAUTHORIZED`, T, async () => {
      const r = await api(servers[mode], m, p, { body });
      assertError(r, 401, 'UNAUTHORIZED');
    });

    test(`[${label}] ${m} ${p} with a wrong key → 401 (Bearer and x-api-key)`, T, async () => {
      const s = servers[mode];
      assertError(await api(s, m, p, { body, headers: { authorization: 'Bearer wrong-key' } }), 401, 'UNAUTHORIZED');
      assertError(await api(s, m, p, { body, headers: { 'x-api-key': 'wrong-key' } }), 401, 'UNAUTHORIZED');
      // A key that is a prefix of a real one, and a key of the right length but wrong text.
      assertError(await api(s, m, p, { body, headers: { 'x-api-key': K1.slice(0, -1) } }), 401, 'UNAUTHORIZED');
      assertError(await api(s, m, p, { body, headers: { 'x-api-key': K1.slice(0, -1) + 'x' } }), 401, 'UNAUTHORIZED');
      assertError(await api(s, m, p, { body, headers: { authorization: `Basic ${K1}` } }), 401, 'UNAUTHORIZED');
    });

    test(`[${label}] ${m} ${p} with Bearer k1, x-api-key k2, Bearer k2 → allowed`, T, async () => {
      const s = servers[mode];
      const want = m === 'POST' ? 201 : 200;
      for (const headers of [
        { authorization: `Bearer ${K1}` },
        { 'x-api-key': K2 },
        { authorization: `Bearer ${K2}` },
        { 'x-api-key': K1 },
      ]) {
        const r = await api(s, m, p, { body, headers });
        assert.equal(r.status, want, `${JSON.stringify(headers)}: ${r.text}`);
      }
    });
  }

  test(`[${label}] the CORS preflight needs no key`, T, async () => {
    const r = await httpRequest(servers[mode].port, {
      method: 'OPTIONS',
      path: '/v1/events',
      headers: {
        origin: 'http://example.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    assert.equal(r.status, 204);
  });

  test(`[${label}] a 401 carries the security and CORS headers`, T, async () => {
    const r = await httpRequest(servers[mode].port, { path: '/v1/events' });
    assert.equal(r.status, 401);
    assert.match(r.headers['content-type'] || '', /^application\/json/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['access-control-allow-origin'], '*');
  });

  test(`[${label}] API keys never appear in the logs`, T, async () => {
    const s = servers[mode];
    const traces = [uniq('key-leak'), uniq('key-leak')];
    await api(s, 'GET', '/v1/events', { headers: { authorization: `Bearer ${K1}`, 'x-trace-id': traces[0] } });
    await api(s, 'GET', '/v1/events', { headers: { 'x-api-key': K2, 'x-trace-id': traces[1] } });
    // Both requests' lines are written (the marker) before the output is searched.
    for (const t of traces) await waitForRequestLog(s, t, 10_000);
    const leaks = s.rawStdout.filter((l) => l.includes(K1) || l.includes(K2));
    assert.deepEqual(leaks, []);
    // Nor in the self-tracking events.
    const self = await api(s, 'GET', '/v1/events?entityId=api-self&limit=1000', { headers: { 'x-api-key': K1 } });
    assert.ok(!self.text.includes(K1) && !self.text.includes(K2), 'no key in api-self events');
  });
}

test('keys of any length work with both headers (2, 15, 16 and 64 characters)', T, async () => {
  const keys = ['k1', 'k'.repeat(15), 'k'.repeat(16), 'x'.repeat(32) + 'y'.repeat(32)];
  const s = await startServer({ args: keys.flatMap((k) => ['--api-key', k]) });
  const failures = [];
  for (const k of keys) {
    for (const headers of [{ authorization: `Bearer ${k}` }, { 'x-api-key': k }]) {
      const r = await api(s, 'GET', '/v1/events', { headers });
      if (r.status !== 200) failures.push(`${k.length}-char key via ${Object.keys(headers)[0]} → ${r.status}`);
    }
  }
  assert.deepEqual(failures, []);
});
