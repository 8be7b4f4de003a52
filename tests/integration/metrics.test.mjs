// GET /metrics as served: the content type Prometheus expects, and the page line for
// line as tests/integration/golden/metrics.txt has it (every HELP and TYPE line, every
// series name and label set, every route in order), with the sample values, which
// depend on timing and traffic, left out; the exact text with values is pinned by
// tests/http/metrics_test.cpp. After a change to the page on purpose, rewrite the
// golden file with UPDATE_GOLDEN=1 and review the diff.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, stopAll, api, rawRequest } from './lib/server.mjs';
import { parseMetrics, metric } from './lib/load.mjs';

after(stopAll);

const golden = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden', 'metrics.txt');

/** The page without its values; request counts are left out, their presence depends on traffic. */
function shape(text) {
  return text.split('\n')
    .filter((l) => l !== '' && !l.startsWith('http_requests_total{'))
    .map((l) => (l.startsWith('#') ? l : l.replace(/ \S+$/, ' <value>')))
    .join('\n') + '\n';
}

test('GET /metrics: Prometheus text, line for line as the golden file (values aside)', { timeout: 30_000 }, async () => {
  const srv = await startServer();
  assert.equal((await api(srv, 'GET', '/v1/usage/golden')).status, 200);
  assert.equal((await api(srv, 'GET', '/nope')).status, 404);
  const r = await api(srv, 'GET', '/metrics');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');

  // Every sample line is `name{labels} value` with a number for the value.
  for (const line of r.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/, `sample line: ${line}`);
  }
  // The requests this test made, counted exactly.
  const m = parseMetrics(r.text);
  assert.equal(metric(m, 'http_requests_total', { route: 'GET /v1/usage/:entityId', status: '200' }), 1);
  assert.equal(metric(m, 'http_requests_total', { route: 'unmatched', status: '404' }), 1);
  assert.equal(metric(m, 'http_requests_in_flight'), 1, 'the /metrics request itself');

  const got = shape(r.text);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, got);
  assert.equal(got, readFileSync(golden, 'utf8'), 'the /metrics page differs from golden/metrics.txt');
  assert.equal(await srv.stop('SIGTERM'), 0);
});

// `unmatched` counts the requests no route takes: the 404s of unknown paths, key or not
// (an unknown path is never a 401), and lines that do not parse. A 401 counts under its
// route whether the request gate refused it before its body was read (a body without a
// key) or the route did (no body).
test('/metrics: unknown paths and unparseable lines are `unmatched`; a 401 counts under its route', { timeout: 30_000 }, async () => {
  const KEY = 'metrics-key-7d2f';
  const srv = await startServer({ args: ['--api-key', KEY] });
  const auth = { authorization: `Bearer ${KEY}` };
  assert.equal((await api(srv, 'GET', '/nope')).status, 404, 'unknown path, no key');
  assert.equal((await api(srv, 'GET', '/nope', { headers: auth })).status, 404, 'unknown path, a key');
  assert.equal((await api(srv, 'POST', '/nope', { body: { a: 1 } })).status, 404, 'unknown path, a body, no key');
  assert.equal((await api(srv, 'POST', '/v1/events', { body: { entityId: 'm', eventType: 't' } })).status, 401,
    'a body without a key: refused before the body is read');
  assert.equal((await api(srv, 'GET', '/v1/events')).status, 401, 'no body, no key');
  const garbage = await rawRequest(srv.port, 'NOT AN HTTP LINE\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 /, garbage);
  const r = await api(srv, 'GET', '/metrics', { headers: auth });
  assert.equal(r.status, 200, r.text);
  const m = parseMetrics(r.text);
  assert.equal(metric(m, 'http_requests_total', { route: 'unmatched', status: '404' }), 3);
  assert.equal(metric(m, 'http_requests_total', { route: 'unmatched', status: '400' }), 1);
  assert.equal(metric(m, 'http_requests_total', { route: 'unmatched', status: '401' }), undefined,
    'no 401 is unmatched');
  assert.equal(metric(m, 'http_requests_total', { route: 'POST /v1/events', status: '401' }), 1);
  assert.equal(metric(m, 'http_requests_total', { route: 'GET /v1/events', status: '401' }), 1);
  assert.equal(await srv.stop('SIGTERM'), 0);
});
