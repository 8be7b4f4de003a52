// Health, readiness, info, root document, and the headers every response carries
// (content type, security headers, CORS, preflight, gzip).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import {
  startServer, stopAll, api, httpRequest, postEvent, uniq,
  SERVICE, VERSION, ISO_MS_Z, START_TIMEOUT_MS,
} from './lib/server.mjs';

const T = { timeout: 15_000 };
let srv;

before(async () => {
  srv = await startServer({ args: ['--environment', 'itest-env'] });
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

function assertRecentIso(value, label) {
  assert.match(value, ISO_MS_Z, `${label} is ISO 8601 UTC with ms and Z`);
  const skew = Math.abs(Date.parse(value) - Date.now());
  assert.ok(skew < 60_000, `${label} ${value} is close to now`);
}

test('GET /health answers 200 with status, timestamp, service, version as the first four keys', T, async () => {
  const res = await api(srv, 'GET', '/health');
  assert.equal(res.status, 200);
  // JSON.parse keeps the textual order of non-numeric keys, so this reads the wire order.
  const keys = Object.keys(res.json);
  assert.deepEqual(keys.slice(0, 4), ['status', 'timestamp', 'service', 'version'], `body: ${res.text}`);
  assert.equal(res.json.status, 'healthy');
  assert.equal(res.json.service, SERVICE);
  assert.equal(res.json.version, VERSION);
  assertRecentIso(res.json.timestamp, 'timestamp');
  assert.match(res.headers.get('content-type'), /^application\/json/);
});

test('GET /ready answers 200 {"status":"ready","timestamp",…,"checks":{"service":"ok",…}} with every check ok', T, async () => {
  const res = await api(srv, 'GET', '/ready');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.status, 'ready');
  assertRecentIso(res.json.timestamp, 'timestamp');
  assert.equal(typeof res.json.checks, 'object');
  assert.equal(res.json.checks.service, 'ok');
  for (const [name, state] of Object.entries(res.json.checks)) {
    assert.equal(state, 'ok', `check ${name}`);
  }
  assert.match(res.headers.get('content-type'), /^application\/json/);
});

test('GET /info has service, version, environment (from --environment), uptime and stats', T, async () => {
  const res = await api(srv, 'GET', '/info');
  assert.equal(res.status, 200, res.text);
  const b = res.json;
  assert.equal(b.service, SERVICE);
  assert.equal(b.version, VERSION);
  assert.equal(b.environment, 'itest-env');
  assert.ok(Number.isInteger(b.uptime.ms) && b.uptime.ms >= 0, `uptime.ms ${b.uptime.ms}`);
  assert.equal(typeof b.uptime.human, 'string');
  assert.match(b.uptime.human, /^(\d+d \d+h|\d+h \d+m|\d+m \d+s|\d+s)$/);
  for (const k of ['totalEvents', 'eventsLastHour', 'uniqueEntities']) {
    assert.ok(Number.isInteger(b.stats[k]) && b.stats[k] >= 0, `stats.${k} = ${b.stats[k]}`);
  }
  assert.match(res.headers.get('content-type'), /^application\/json/);
});

test('GET / answers exactly the root document of the contract', T, async () => {
  const res = await api(srv, 'GET', '/');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, {
    service: SERVICE,
    version: VERSION,
    documentation: '/docs',
    health: '/health',
    api: { events: '/v1/events', usage: '/v1/usage' },
  });
  assert.match(res.headers.get('content-type'), /^application\/json/);
});

const headerProbes = [
  ['GET /health (200)', { path: '/health' }],
  ['GET / (200)', { path: '/' }],
  ['GET /nope (404)', { path: '/nope' }],
  ['POST /v1/events malformed JSON (400)', {
    method: 'POST', path: '/v1/events', headers: { 'content-type': 'application/json' }, body: '{bad',
  }],
  ['GET /v1/events (200)', { path: '/v1/events' }],
];

for (const [label, req] of headerProbes) {
  test(`security, CORS and content-type headers on ${label}`, T, async () => {
    const res = await httpRequest(srv.port, { ...req, headers: { origin: 'http://example.test', ...(req.headers || {}) } });
    const h = res.headers;
    assert.match(h['content-type'] || '', /^application\/json/, 'content-type');
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['x-frame-options'], 'SAMEORIGIN');
    assert.ok(h['strict-transport-security'], 'Strict-Transport-Security present');
    assert.equal(h['content-security-policy'], "default-src 'self'");
    assert.equal(h['x-powered-by'], undefined, 'no X-Powered-By');
    assert.equal(h['access-control-allow-origin'], '*');
    assert.ok(h['x-trace-id'], 'x-trace-id present');
  });
}

for (const route of ['/v1/events', '/v1/usage/stats', '/v1/events/batch']) {
  test(`OPTIONS preflight on ${route} answers 204 with methods and the requested headers`, T, async () => {
    const requested = ['content-type', 'x-trace-id', 'authorization', 'x-api-key'];
    const res = await httpRequest(srv.port, {
      method: 'OPTIONS',
      path: route,
      headers: {
        origin: 'http://example.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': requested.join(','),
      },
    });
    assert.equal(res.status, 204, `status ${res.status}: ${res.text}`);
    const methods = (res.headers['access-control-allow-methods'] || '')
      .split(',').map((m) => m.trim().toUpperCase());
    for (const m of ['GET', 'POST', 'OPTIONS']) {
      assert.ok(methods.includes(m), `Access-Control-Allow-Methods ${res.headers['access-control-allow-methods']} has ${m}`);
    }
    const allowed = (res.headers['access-control-allow-headers'] || '')
      .split(',').map((x) => x.trim().toLowerCase());
    for (const hname of requested) {
      assert.ok(allowed.includes(hname) || allowed.includes('*'),
        `Access-Control-Allow-Headers ${res.headers['access-control-allow-headers']} allows ${hname}`);
    }
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.ok(res.headers['x-trace-id'], 'x-trace-id on the preflight too');
  });
}

test('a large response is gzip-compressed when the request accepts gzip, and decompresses to JSON', T, async () => {
  const entityId = uniq('gzip');
  for (let i = 0; i < 50; i++) {
    const r = await postEvent(srv, {
      entityId,
      eventType: 'page_view',
      metadata: { i, page: `/some/fairly/long/path/number/${i}`, note: 'x'.repeat(40) },
    });
    assert.equal(r.status, 201, r.text);
  }
  const p = `/v1/events?entityId=${entityId}&limit=1000`;
  const gz = await httpRequest(srv.port, { path: p, headers: { 'accept-encoding': 'gzip' } });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip', `headers: ${JSON.stringify(gz.headers)}`);
  const body = JSON.parse(gunzipSync(gz.body).toString('utf8'));
  assert.equal(body.success, true);
  assert.equal(body.data.events.length, 50);
  assert.match(gz.headers['content-type'] || '', /^application\/json/);

  // Without Accept-Encoding the same body comes back uncompressed.
  const plain = await httpRequest(srv.port, { path: p });
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(JSON.parse(plain.text).data.events.length, 50);
  assert.ok(gz.body.length < plain.body.length, 'gzip body is smaller');
});
