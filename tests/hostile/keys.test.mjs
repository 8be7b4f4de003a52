// API key lists as operators write them: spaces after commas are not part of
// a key, and a list that holds no key is refused at start instead of
// starting the service open. Reserved and impossible values from clients.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, stopAll, api, binaryPath, cleanEnv, makeTempDir, uniq } from '../integration/lib/server.mjs';

after(stopAll);
const T = { timeout: 30_000 };

test('API_KEYS="k1, k2" accepts both keys', T, async () => {
  const srv = await startServer({ env: { API_KEYS: 'k1, k2 ,k3' } });
  for (const key of ['k1', 'k2', 'k3']) {
    const r = await api(srv, 'GET', '/v1/usage/stats', { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(r.status, 200, `key ${key}: ${r.text}`);
  }
  assert.equal((await api(srv, 'GET', '/v1/usage/stats', { headers: { Authorization: 'Bearer k4' } })).status, 401);
  assert.equal((await api(srv, 'GET', '/v1/usage/stats')).status, 401);
});

for (const value of [',', ' , ', 'k1,,k2', 'k1,']) {
  test(`API_KEYS=${JSON.stringify(value)} is refused at start (exit 2, one line)`, T, () => {
    // Refused before it listens: the port is never taken.
    const r = spawnSync(binaryPath, ['--port', '65000', '--data-dir', makeTempDir()], {
      env: cleanEnv({ API_KEYS: value }), encoding: 'utf8', timeout: 10_000,
    });
    assert.equal(r.status, 2, `exit ${r.status}, stderr ${r.stderr}, stdout ${r.stdout}`);
    assert.match(r.stderr, /api-key must not be empty/);
  });
}

test('a CloudEvent may not use the v1 source, so it cannot take a v1 event id', T, async () => {
  const srv = await startServer();
  const run = uniq('source');
  const v1 = await api(srv, 'POST', '/v1/events', { body: { id: `${run}-1`, entityId: run, eventType: 'v1' } });
  assert.equal(v1.status, 201);
  const ce = await api(srv, 'POST', '/api/v1/events', {
    headers: { 'content-type': 'application/cloudevents+json' },
    body: { specversion: '1.0', id: `${run}-1`, source: 'usage-metrics/v1', type: 'v1', subject: run },
  });
  assert.equal(ce.status, 400, ce.text);
  assert.match(ce.json.detail, /source usage-metrics\/v1 is reserved/);
});

test('timestamps that leave the four-digit years are refused, not stored as year -1 or 10000', T, async () => {
  const srv = await startServer();
  const run = uniq('years');
  for (const timestamp of ['0000-01-01T00:00:00+23:59', '9999-12-31T23:59:59-00:01']) {
    const r = await api(srv, 'POST', '/v1/events', { body: { entityId: run, eventType: 't', timestamp } });
    assert.equal(r.status, 400, `${timestamp}: ${r.text}`);
    assert.equal(r.json.error.message, 'timestamp must be a valid ISO8601 date');
  }
  const edge = await api(srv, 'POST', '/v1/events', { body: { entityId: run, eventType: 't', timestamp: '9999-12-31T23:59:59.999Z' } });
  assert.equal(edge.status, 201);
  assert.equal(edge.json.data.timestamp, '9999-12-31T23:59:59.999Z');
});

test('a malformed filterGroupBy is a 400, not an unfiltered total', T, async () => {
  const srv = await startServer();
  const m = await api(srv, 'POST', '/api/v1/meters', {
    body: { slug: 'tokens_f', aggregation: 'SUM', eventType: 'prompt', valueProperty: '$.tokens', groupBy: { g: '$.g' } },
  });
  assert.equal(m.status, 201, m.text);
  const r = await api(srv, 'GET', '/api/v1/meters/tokens_f/query?filterGroupBy%5Bg=a');
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.detail, /filterGroupBy must be given as filterGroupBy\[<key>\]=<value>/);
});
