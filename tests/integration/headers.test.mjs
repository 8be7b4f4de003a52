// The headers docs/API.md promises on every response ("Other headers on every
// response"), each exactly once and with its exact value, on every kind of answer:
// success, no content, each error family, the answers to requests the HTTP parser
// rejects, /metrics and /docs, the metering API's problems, gzip. And
// Access-Control-Allow-Origin from --cors-origin or CORS_ORIGIN (the flag wins).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, stopAll, rawRequest, makeTempDir, uniq, START_TIMEOUT_MS,
} from './lib/server.mjs';

const T = { timeout: 30_000 };

const SECURITY = {
  'access-control-expose-headers': 'x-trace-id, Retry-After',
  'content-security-policy': "default-src 'self'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

let srv; // --fault-injection, --request-timeout-ms 300
let keyed; // one API key
let damaged; // a damaged database file: writes answer 503

before(async () => {
  srv = await startServer({ args: ['--fault-injection', '--request-timeout-ms', '300'] });
  keyed = await startServer({ args: ['--api-key', 'headers-key'] });
  const dataDir = makeTempDir('usage-metrics-headers-');
  // A RocksDB directory (the default store) whose manifest is garbage.
  mkdirSync(path.join(dataDir, 'rocksdb'));
  writeFileSync(path.join(dataDir, 'rocksdb', 'MANIFEST-000001'), Buffer.alloc(8192, 0x5a));
  writeFileSync(path.join(dataDir, 'rocksdb', 'CURRENT'), 'MANIFEST-000001\n');
  damaged = await startServer({ dataDir });
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

/** One raw HTTP exchange: {status, headers: [[lower-case name, value]...], body}. */
async function exchange(server, head, body = '') {
  const text = await rawRequest(server.port, Buffer.concat([
    Buffer.from(head.replace(/\n/g, '\r\n') + '\r\n', 'latin1'), Buffer.from(body),
  ]), { idleMs: 1500, timeoutMs: 10_000 });
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, `an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = lines.map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
  });
  return { status: Number(/^HTTP\/1\.\d (\d{3})/.exec(statusLine)?.[1]), headers };
}

/** Asserts every promised header exactly once with its value, and the CORS origin. */
function assertHeaders(r, label, origin = '*') {
  const count = (name) => r.headers.filter(([n]) => n === name).length;
  const value = (name) => r.headers.find(([n]) => n === name)?.[1];
  for (const [name, want] of Object.entries({ ...SECURITY, 'access-control-allow-origin': origin })) {
    assert.equal(count(name), 1, `${label}: ${name} exactly once (${JSON.stringify(r.headers)})`);
    assert.equal(value(name), want, `${label}: ${name}`);
  }
  assert.equal(count('x-trace-id'), 1, `${label}: x-trace-id exactly once`);
  assert.ok(value('x-trace-id'), `${label}: x-trace-id has a value`);
  assert.equal(count('x-powered-by'), 0, `${label}: no X-Powered-By`);
}

const json = (method, p, body, extra = '') => [
  `${method} ${p} HTTP/1.1\nHost: x\nConnection: close\nContent-Type: application/json\n`
    + `Content-Length: ${Buffer.byteLength(body)}\n${extra}`, body];
const get = (p, extra = '') => [`GET ${p} HTTP/1.1\nHost: x\nConnection: close\n${extra}`];

const cases = [
  ['200 JSON (GET /)', () => srv, get('/'), 200],
  ['200 JSON gzip (GET /docs is large)', () => srv, get('/docs', 'Accept-Encoding: gzip\n'), 200],
  ['200 Prometheus text (GET /metrics)', () => srv, get('/metrics'), 200],
  ['201 (POST /v1/events)', () => srv, json('POST', '/v1/events', '{"entityId":"h","eventType":"t"}'), 201],
  ['204 (DELETE of a meter)', () => srv, null, 204],
  ['204 preflight (OPTIONS)', () => srv, [`OPTIONS /v1/events HTTP/1.1\nHost: x\nConnection: close\nOrigin: http://a.test\nAccess-Control-Request-Method: POST\n`], 204],
  ['400 malformed JSON', () => srv, json('POST', '/v1/events', '{bad'), 400],
  ['400 problem+json (POST /api/v1/meters {})', () => srv, json('POST', '/api/v1/meters', '{}'), 400],
  ['401 without a key', () => keyed, get('/v1/events'), 401],
  ['404 unknown route', () => srv, get('/nope'), 404],
  ['404 problem+json (unknown meter)', () => srv, get('/api/v1/meters/no_such_meter'), 404],
  ['413 body over 1 MB', () => srv, [`POST /v1/events HTTP/1.1\nHost: x\nConnection: close\nContent-Type: application/json\nContent-Length: 99999999\n`], 413],
  ['415 wrong content type', () => srv, [`POST /v1/events HTTP/1.1\nHost: x\nConnection: close\nContent-Type: text/plain\nContent-Length: 2\n`, '{}'], 415],
  ['400 from the HTTP parser (a header line without a colon)', () => srv, [`GET /health HTTP/1.1\nHost: x\nnot a header\n`], 400],
  ['505 from the HTTP parser (HTTP/7.3)', () => srv, [`GET /health HTTP/7.3\nHost: x\n`], 505],
  ['503 (a damaged database)', () => damaged, json('POST', '/v1/events', '{"entityId":"h","eventType":"t"}'), 503],
  ['504 (a hung part)', () => srv, null, 504],
];

for (const [label, server, request, status] of cases) {
  test(`every promised header, exactly once: ${label}`, T, async () => {
    let r;
    if (status === 204 && request === null) {
      const slug = uniq('hdr').replace(/-/g, '_');
      const made = await exchange(srv, ...json('POST', '/api/v1/meters', JSON.stringify({ slug, aggregation: 'COUNT', eventType: 't' })));
      assert.equal(made.status, 201);
      r = await exchange(srv, `DELETE /api/v1/meters/${slug} HTTP/1.1\nHost: x\nConnection: close\n`);
    } else if (status === 504) {
      const hang = await exchange(srv, `POST /admin/faults/aggregation/hang?ms=1500 HTTP/1.1\nHost: x\nConnection: close\nContent-Length: 0\n`);
      assert.equal(hang.status, 202);
      r = await exchange(srv, ...get('/v1/usage/hung'));
    } else {
      r = await exchange(server(), ...request);
    }
    assert.equal(r.status, status, `${label}: ${JSON.stringify(r.headers)}`);
    assertHeaders(r, label);
  });
}

test('--cors-origin sets Access-Control-Allow-Origin on answers, errors, preflights and parser rejections', T, async () => {
  const origin = 'https://app.example.test';
  const s = await startServer({ args: ['--cors-origin', origin] });
  assertHeaders(await exchange(s, ...get('/')), 'GET /', origin);
  assertHeaders(await exchange(s, ...get('/nope')), '404', origin);
  assertHeaders(await exchange(s, `OPTIONS /v1/events HTTP/1.1\nHost: x\nConnection: close\nOrigin: ${origin}\nAccess-Control-Request-Method: POST\n`),
    'preflight', origin);
  assertHeaders(await exchange(s, `GET /health HTTP/1.1\nHost: x\nnot a header\n`), 'parser 400', origin);
});

test('CORS_ORIGIN from the environment, and --cors-origin wins over it', T, async () => {
  const fromEnv = await startServer({ env: { CORS_ORIGIN: 'https://env.example.test' } });
  assertHeaders(await exchange(fromEnv, ...get('/')), 'CORS_ORIGIN', 'https://env.example.test');
  const both = await startServer({
    args: ['--cors-origin', 'https://flag.example.test'], env: { CORS_ORIGIN: 'https://env.example.test' },
  });
  assertHeaders(await exchange(both, ...get('/')), 'flag over environment', 'https://flag.example.test');
});
