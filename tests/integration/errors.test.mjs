// Error responses: 404 route messages, malformed JSON, payload size, media type, malformed
// HTTP, oversized URLs and headers, hostile JSON; the server survives each one and no
// error message leaks internals.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startServer, stopAll, api, assertError, rawRequest, parseRawResponse, uniq, waitForRequestLog,
  START_TIMEOUT_MS,
} from './lib/server.mjs';

const T = { timeout: 15_000 };
let srv;
const errorBodies = [];

before(async () => {
  srv = await startServer();
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

async function call(method, path, opts) {
  const r = await api(srv, method, path, opts);
  if (r.status >= 400) errorBodies.push({ req: `${method} ${path.slice(0, 80)}`, text: r.text });
  return r;
}

async function assertAlive(s = srv) {
  const h = await api(s, 'GET', '/health');
  assert.equal(h.status, 200, 'the server still answers /health');
}

test('GET /nope → 404 with the exact NOT_FOUND body', T, async () => {
  const r = await call('GET', '/nope');
  assertError(r, 404, 'NOT_FOUND', 'Route GET /nope not found');
  assert.deepEqual(Object.keys(r.json.error), ['code', 'message', 'traceId']);
  assert.match(r.headers.get('content-type'), /^application\/json/);
});

test('404 message uses the method and the path without the query string', T, async () => {
  assertError(await call('POST', '/nope?x=1&y=2', { body: {} }), 404, 'NOT_FOUND', 'Route POST /nope not found');
  assertError(await call('GET', '/v2/events?limit=5'), 404, 'NOT_FOUND', 'Route GET /v2/events not found');
  assertError(await call('GET', '/v1/nothing/here'), 404, 'NOT_FOUND', 'Route GET /v1/nothing/here not found');
});

test('a method a route does not take → 404 Route <METHOD> <path> not found', T, async () => {
  assertError(await call('DELETE', '/v1/events'), 404, 'NOT_FOUND', 'Route DELETE /v1/events not found');
  assertError(await call('PUT', '/health'), 404, 'NOT_FOUND', 'Route PUT /health not found');
  assertError(await call('POST', '/v1/usage/stats', { body: {} }), 404, 'NOT_FOUND', 'Route POST /v1/usage/stats not found');
});

for (const [label, body] of [
  ['truncated object', '{"entityId":"a","eventType":'],
  ['single quotes', "{'entityId':'a','eventType':'b'}"],
  ['trailing comma', '{"entityId":"a","eventType":"b",}'],
  ['garbage', 'not json at all'],
  ['empty body', ''],
  ['two documents', '{"entityId":"a","eventType":"b"}{"x":1}'],
]) {
  test(`malformed JSON (${label}) on POST /v1/events → 400 VALIDATION_ERROR`, T, async () => {
    const r = await call('POST', '/v1/events', { body, headers: { 'content-type': 'application/json' } });
    assertError(r, 400, 'VALIDATION_ERROR');
  });
}

test('a JSON body that is not an object → 400 VALIDATION_ERROR', T, async () => {
  for (const body of ['[]', '"text"', '42', 'null']) {
    const r = await call('POST', '/v1/events', { body, headers: { 'content-type': 'application/json' } });
    assertError(r, 400, 'VALIDATION_ERROR');
  }
});

test('invalid UTF-8 inside a JSON string → 400, not a crash', T, async () => {
  const body = Buffer.concat([
    Buffer.from('{"entityId":"bad-'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('","eventType":"t"}'),
  ]);
  const r = await call('POST', '/v1/events', { body, headers: { 'content-type': 'application/json' } });
  assertError(r, 400, 'VALIDATION_ERROR');
  await assertAlive();
});

test('Content-Type: text/plain on POST /v1/events → 415 UNSUPPORTED_MEDIA_TYPE', T, async () => {
  const body = JSON.stringify({ entityId: uniq('ct'), eventType: 't' });
  const r = await call('POST', '/v1/events', { body, headers: { 'content-type': 'text/plain' } });
  assertError(r, 415, 'UNSUPPORTED_MEDIA_TYPE');
  const f = await call('POST', '/v1/events', { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assertError(f, 415, 'UNSUPPORTED_MEDIA_TYPE');
});

test('Content-Type: application/json; charset=utf-8 is accepted', T, async () => {
  const body = JSON.stringify({ entityId: uniq('ct'), eventType: 't' });
  const r = await call('POST', '/v1/events', { body, headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(r.status, 201, r.text);
});

test('a body just under 1 MB is accepted', T, async () => {
  // One event's metadata may take 256 KiB (a JSON limit of its own): four of them.
  const entityId = uniq('big');
  const events = Array.from({ length: 4 }, () => ({ entityId, eventType: 't', metadata: { blob: 'x'.repeat(240_000) } }));
  const body = JSON.stringify({ events });
  assert.ok(body.length > 960_000 && body.length < 1024 * 1024, `${body.length} bytes`);
  const r = await call('POST', '/v1/events/batch', { body, timeoutMs: 10_000 });
  assert.equal(r.status, 201, r.text.slice(0, 200));
});

function sendLargeBody({ chunked }) {
  const payload = JSON.stringify({ entityId: 'big', eventType: 't', metadata: { blob: 'x'.repeat(2 * 1024 * 1024) } });
  const head = chunked
    ? 'POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
    : `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n`;
  const body = chunked
    ? `${Buffer.byteLength(payload).toString(16)}\r\n${payload}\r\n0\r\n\r\n`
    : payload;
  return rawRequest(srv.port, Buffer.from(head + body), { idleMs: 1000, timeoutMs: 10_000 });
}

test('a body over 1 MB (Content-Length) → 413 PAYLOAD_TOO_LARGE, server survives', T, async () => {
  const raw = await sendLargeBody({ chunked: false });
  const res = parseRawResponse(raw);
  assert.equal(res.status, 413, `response: ${JSON.stringify(raw.slice(0, 300))}`);
  assert.equal(JSON.parse(res.body).error.code, 'PAYLOAD_TOO_LARGE');
  await assertAlive();
});

test('a body over 1 MB (chunked) → 413 PAYLOAD_TOO_LARGE, server survives', T, async () => {
  const raw = await sendLargeBody({ chunked: true });
  const res = parseRawResponse(raw);
  assert.equal(res.status, 413, `response: ${JSON.stringify(raw.slice(0, 300))}`);
  await assertAlive();
});

// RESTinio 0.6 alone would close these connections without a word; the
// guarded socket answers each with the contract's error body (http/guarded_socket.hpp).
function assertRawError(raw, status, code) {
  assert.ok(raw.length > 0, 'an answer, not a closed connection');
  const res = parseRawResponse(raw);
  assert.equal(res.status, status, `status line: ${JSON.stringify(raw.slice(0, 120))}`);
  assert.match(res.headers['x-trace-id'] || '', /^[0-9a-f-]{36}$/);
  assert.equal(res.headers.connection, 'close');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  const body = JSON.parse(res.body);
  assert.deepEqual(Object.keys(body.error), ['code', 'message', 'traceId']);
  assert.equal(body.error.code, code);
  assert.equal(body.error.traceId, res.headers['x-trace-id']);
  return body;
}

for (const [label, bytes, status, code] of [
  ['garbage request line', 'GARBAGE\r\n\r\n', 400, 'VALIDATION_ERROR'],
  ['header without colon', 'GET /health HTTP/1.1\r\nHost: x\r\nBadHeaderNoColon\r\n\r\n', 400, 'VALIDATION_ERROR'],
  ['binary noise', '\x00\x01\x02\x03\xff\xfe\r\n\r\n', 400, 'VALIDATION_ERROR'],
  ['bad Content-Length', 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}', 400, 'VALIDATION_ERROR'],
  ['conflicting Content-Length', 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}', 400, 'VALIDATION_ERROR'],
  ['request line without version (HTTP/0.9 style)', 'GET /health\r\nHost: x\r\n\r\n', 400, 'VALIDATION_ERROR'],
  ['unknown HTTP version', 'GET /health HTTP/7.3\r\nHost: x\r\n\r\n', 505, 'HTTP_VERSION_NOT_SUPPORTED'],
  ['HTTP/2 preface on the HTTP/1 port', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505, 'HTTP_VERSION_NOT_SUPPORTED'],
  ['Content-Length far over the limit', 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n', 413, 'PAYLOAD_TOO_LARGE'],
]) {
  test(`malformed HTTP (${label}) → ${status} ${code}, server survives`, T, async () => {
    const raw = await rawRequest(srv.port, Buffer.from(bytes, 'latin1'));
    assertRawError(raw, status, code);
    await assertAlive();
  });
}

test('a malformed request after an answered one on a kept-alive connection → 400', T, async () => {
  const raw = await new Promise((resolve) => {
    const sock = net.connect(srv.port, '127.0.0.1');
    let text = '';
    let sentSecond = false;
    sock.on('data', (c) => {
      text += c.toString('latin1');
      if (!sentSecond && text.includes('"healthy"')) {
        sentSecond = true;
        text = '';
        sock.write('GET /health HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n');
      }
    });
    sock.on('close', () => resolve(text));
    sock.on('error', () => resolve(text));
    sock.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    setTimeout(() => sock.destroy(), 5000);
  });
  assertRawError(raw, 400, 'VALIDATION_ERROR');
});

test('a rejected request gets its HTTP Request log line with the trace id it was answered with', T, async () => {
  const raw = await rawRequest(srv.port, Buffer.from('GET /health HTTP/7.3\r\nHost: x\r\n\r\n', 'latin1'));
  const body = assertRawError(raw, 505, 'HTTP_VERSION_NOT_SUPPORTED');
  const line = await waitForRequestLog(srv, body.error.traceId);
  assert.ok(line, 'a log line for the rejected request');
  assert.equal(line.message, 'HTTP Request');
  assert.equal(line.statusCode, 505);
  assert.equal(line.method, 'GET');
  assert.equal(line.path, '/health');
  assert.equal(line.ip, '127.0.0.1');
  assert.equal(typeof line.duration, 'number');
});

test('a 20 KB URL → 414 URI_TOO_LONG, server survives', T, async () => {
  const path = `/v1/events?entityId=${'a'.repeat(20 * 1024)}`;
  const raw = await rawRequest(srv.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  const res = parseRawResponse(raw);
  assert.equal(res.status, 414, `status line: ${JSON.stringify(raw.slice(0, 120))}`);
  assert.equal(JSON.parse(res.body).error.code, 'URI_TOO_LONG');
  await assertAlive();
});

test('a 100 KB URL (over the parser limit) → 414 URI_TOO_LONG, server survives', T, async () => {
  const path = `/v1/events?entityId=${'a'.repeat(100 * 1024)}`;
  const raw = await rawRequest(srv.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assertRawError(raw, 414, 'URI_TOO_LONG');
  await assertAlive();
});

test('a 100 KB header → 431 HEADER_FIELDS_TOO_LARGE, server survives', T, async () => {
  const raw = await rawRequest(srv.port,
    `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(100 * 1024)}\r\nConnection: close\r\n\r\n`);
  assertRawError(raw, 431, 'HEADER_FIELDS_TOO_LARGE');
  await assertAlive();
});

test('many connections opened and dropped without a request do not hurt the server', T, async () => {
  await Promise.all(Array.from({ length: 50 }, () => rawRequest(srv.port, 'GET /he', { idleMs: 50 })));
  await assertAlive();
});

test('deeply nested metadata (10,000 levels) → 400, never a crash', T, async () => {
  const s = await startServer();
  const depth = 10_000;
  const body = `{"entityId":"deep","eventType":"t","metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
  let r;
  try {
    r = await api(s, 'POST', '/v1/events', { body, timeoutMs: 5000 });
  } catch (err) {
    assert.fail(`no response (${err.message}); server exit ${s.exitCode} ${s.exitSignal}`);
  }
  assertError(r, 400, 'VALIDATION_ERROR', 'metadata nests deeper than 64 levels');
  await assertAlive(s);
  // Reading it back must not crash either.
  const list = await api(s, 'GET', '/v1/events?entityId=deep');
  assert.equal(list.status, 200);
  await assertAlive(s);
});

test('no error message leaks stack traces or internal names', T, async () => {
  // Make sure there is a spread of error bodies to look at.
  await call('GET', '/v1/events?limit=abc');
  await call('GET', '/v1/usage/x?since=notadate');
  await call('POST', '/v1/events', { body: '{"entityId":' });
  await call('POST', '/v1/events', { body: { entityId: 5, eventType: [], metadata: 'x' } });
  await call('POST', '/v1/events/batch', { body: { events: 'nope' } });
  assert.ok(errorBodies.length >= 10, `collected ${errorBodies.length} error bodies`);
  const leak = /\bat [\w.<>]+ \(|\.cpp\b|\.hpp\b|\.h:\d|std::|nlohmann|restinio|caf::|sqlite|exception|what\(\)|parse_error|terminate|segfault|0x[0-9a-f]{6,}|\/usr\/|\/src\//i;
  for (const { req, text } of errorBodies) {
    assert.doesNotMatch(text, leak, `${req} → ${text}`);
  }
});
