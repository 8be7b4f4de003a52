// Trace ids: x-trace-id echo, generated UUID v4, W3C traceparent and ALB X-Amzn-Trace-Id
// fallbacks (extension), rejection of unsafe ids, presence on errors, logs and error bodies.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, api, rawRequest, parseRawResponse, waitForRequestLog, uniq,
  UUID_V4,
} from './lib/server.mjs';

const T = { timeout: 15_000 };
let srv;
let authSrv;
const KEY = 'itest-trace-key-5c1e';

before(async () => {
  [srv, authSrv] = await Promise.all([
    startServer(),
    startServer({ args: ['--api-key', KEY] }),
  ]);
}, { timeout: 20_000 });

after(stopAll);

const TP_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TP_TRACE}-00f067aa0ba902b7-01`;
const AMZN_ROOT = '1-67891233-abcdef012345678912345678';
const AMZN = `Root=${AMZN_ROOT};Parent=53995c3f42cd8ad8;Sampled=1`;

test('x-trace-id is echoed on the response', T, async () => {
  const id = uniq('trace');
  const res = await api(srv, 'GET', '/health', { headers: { 'x-trace-id': id } });
  assert.equal(res.headers.get('x-trace-id'), id);
});

test('without any trace header the response carries a fresh UUID v4', T, async () => {
  const a = await api(srv, 'GET', '/health');
  const b = await api(srv, 'GET', '/health');
  assert.match(a.headers.get('x-trace-id') || '', UUID_V4);
  assert.match(b.headers.get('x-trace-id') || '', UUID_V4);
  assert.notEqual(a.headers.get('x-trace-id'), b.headers.get('x-trace-id'));
});

test('extension: traceparent supplies the 32-hex trace id', T, async () => {
  const res = await api(srv, 'GET', '/health', { headers: { traceparent: TRACEPARENT } });
  assert.equal(res.headers.get('x-trace-id'), TP_TRACE);
});

test('extension: X-Amzn-Trace-Id supplies its Root= value', T, async () => {
  const res = await api(srv, 'GET', '/health', { headers: { 'x-amzn-trace-id': AMZN } });
  assert.equal(res.headers.get('x-trace-id'), AMZN_ROOT);
});

test('extension: traceparent wins over X-Amzn-Trace-Id', T, async () => {
  const res = await api(srv, 'GET', '/health', {
    headers: { traceparent: TRACEPARENT, 'x-amzn-trace-id': AMZN },
  });
  assert.equal(res.headers.get('x-trace-id'), TP_TRACE);
});

test('x-trace-id wins over traceparent and X-Amzn-Trace-Id', T, async () => {
  const id = uniq('trace');
  const res = await api(srv, 'GET', '/health', {
    headers: { 'x-trace-id': id, traceparent: TRACEPARENT, 'x-amzn-trace-id': AMZN },
  });
  assert.equal(res.headers.get('x-trace-id'), id);
});

test('extension: a malformed traceparent is not used (falls back to a fresh UUID v4)', T, async () => {
  const res = await api(srv, 'GET', '/health', { headers: { traceparent: 'garbage-not-a-traceparent' } });
  assert.match(res.headers.get('x-trace-id') || '', UUID_V4);
});

test('an x-trace-id of exactly 128 printable characters is kept', T, async () => {
  const id = 't'.repeat(120) + '-1234567';
  assert.equal(id.length, 128);
  const res = await api(srv, 'GET', '/health', { headers: { 'x-trace-id': id } });
  assert.equal(res.headers.get('x-trace-id'), id);
});

test('an x-trace-id longer than 128 characters is replaced by a fresh UUID v4', T, async () => {
  const id = 'a'.repeat(129);
  const res = await api(srv, 'GET', '/v1/events?entityId=x', { headers: { 'x-trace-id': id } });
  const got = res.headers.get('x-trace-id');
  assert.match(got || '', UUID_V4);
  await waitForRequestLog(srv, got);
  assert.ok(!srv.rawStdout.some((l) => l.includes(id)), 'the rejected id never reaches the logs');
});

// A tab and obs-text bytes are legal in an HTTP field value, so the request must be served;
// a DEL byte is not, so refusing the request (400 or a closed connection) is fine too.
for (const [label, bad, mayRefuse] of [
  ['a tab', 'abc\tdef', false],
  ['a non-ASCII byte (0xE9)', 'caf\xe9-trace', false],
  ['a DEL byte (0x7F)', 'abc\x7fdef', true],
]) {
  test(`an x-trace-id with ${label} is replaced by a fresh UUID v4`, T, async () => {
    const raw = await rawRequest(srv.port, Buffer.from(
      `GET /v1/events?entityId=x HTTP/1.1\r\nHost: 127.0.0.1\r\nx-trace-id: ${bad}\r\nConnection: close\r\n\r\n`,
      'latin1',
    ));
    const res = parseRawResponse(raw);
    if (mayRefuse && raw === '') {
      assert.equal((await api(srv, 'GET', '/health')).status, 200);
      return;
    }
    // An HTTP parser may refuse such a header outright (400 before any route runs); when the
    // request is served, the trace id must be a fresh one.
    assert.ok(res.status !== undefined, `got an HTTP response: ${JSON.stringify(raw.slice(0, 200))}`);
    assert.ok(res.status < 500, `status ${res.status}`);
    if (!(mayRefuse && res.status === 400)) {
      assert.match(res.headers['x-trace-id'] || '', UUID_V4, `x-trace-id ${JSON.stringify(res.headers['x-trace-id'])}`);
    }
    assert.ok(!srv.rawStdout.some((l) => l.includes(bad)), 'the rejected id never reaches the logs verbatim');
    const alive = await api(srv, 'GET', '/health');
    assert.equal(alive.status, 200);
  });
}

test('x-trace-id is present on a 404 and equals error.traceId', T, async () => {
  const id = uniq('trace');
  const res = await api(srv, 'GET', '/nope', { headers: { 'x-trace-id': id } });
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('x-trace-id'), id);
  assert.equal(res.json?.error?.traceId, id);
  const gen = await api(srv, 'GET', '/nope');
  assert.match(gen.headers.get('x-trace-id') || '', UUID_V4);
  assert.equal(gen.json?.error?.traceId, gen.headers.get('x-trace-id'));
});

test('x-trace-id is present on a 400 and equals error.traceId', T, async () => {
  const id = uniq('trace');
  const res = await api(srv, 'POST', '/v1/events', { body: '{not json', headers: { 'x-trace-id': id } });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('x-trace-id'), id);
  assert.equal(res.json?.error?.traceId, id);
  const val = await api(srv, 'POST', '/v1/events', { body: {}, headers: { traceparent: TRACEPARENT } });
  assert.equal(val.status, 400);
  assert.equal(val.headers.get('x-trace-id'), TP_TRACE);
  assert.equal(val.json?.error?.traceId, TP_TRACE);
});

test('x-trace-id is present on a 401 and equals error.traceId', T, async () => {
  const id = uniq('trace');
  const res = await api(authSrv, 'GET', '/v1/events', { headers: { 'x-trace-id': id } });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('x-trace-id'), id);
  assert.equal(res.json?.error?.traceId, id);
  const gen = await api(authSrv, 'GET', '/v1/events');
  assert.equal(gen.status, 401);
  assert.match(gen.headers.get('x-trace-id') || '', UUID_V4);
  assert.equal(gen.json?.error?.traceId, gen.headers.get('x-trace-id'));
});

test('the request log line carries the same trace id (given, traceparent, Amzn, generated)', T, async () => {
  const given = uniq('trace');
  await api(srv, 'GET', '/v1/events?entityId=x', { headers: { 'x-trace-id': given } });
  const l1 = await waitForRequestLog(srv, given);
  assert.equal(l1.path.split('?')[0], '/v1/events');

  const tpTrace = 'aaaabbbbccccddddeeeeffff00001111';
  await api(srv, 'GET', '/nope-tp', { headers: { traceparent: `00-${tpTrace}-00f067aa0ba902b7-01` } });
  const l2 = await waitForRequestLog(srv, tpTrace);
  assert.equal(l2.statusCode, 404);

  const amznRoot = '1-5f84c7a5-0123456789abcdef01234567';
  await api(srv, 'GET', '/health', { headers: { 'x-amzn-trace-id': `Root=${amznRoot}` } });
  await waitForRequestLog(srv, amznRoot);

  const res = await api(srv, 'GET', '/');
  await waitForRequestLog(srv, res.headers.get('x-trace-id'));
});

test('extension: the self-tracking event of a request carries the request trace id', T, async () => {
  const id = uniq('trace');
  await api(srv, 'GET', '/v1/usage/stats', { headers: { 'x-trace-id': id } });
  const deadline = Date.now() + 3000;
  let found;
  while (!found && Date.now() < deadline) {
    const r = await api(srv, 'GET', '/v1/events?entityId=api-self&eventType=api_call&limit=1000');
    found = r.json?.data?.events?.find((e) => e.metadata?.traceId === id);
    if (!found) await new Promise((r2) => setTimeout(r2, 100));
  }
  assert.ok(found, 'an api-self event with metadata.traceId equal to the request trace id');
});
