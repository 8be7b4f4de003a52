// An idle keep-alive connection outlives the load balancer's idle timeout (60 s): the
// ALB reuses a connection it holds for up to 60 s, so a server that closed it earlier
// would make the ALB's next request on it fail with a 502. The service keeps idle
// connections 75 s (http/server.cpp); here a connection idle for 65 s is still open
// and serves the next request.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, stopAll, sleep } from '../integration/lib/server.mjs';
import { parseResponses, CRLF } from './lib.mjs';

after(stopAll);

const IDLE_MS = 65_000;

/** A socket that collects what it receives and notes when the server closes it. */
function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const state = { socket, received: Buffer.alloc(0), closed: false };
    socket.on('data', (d) => { state.received = Buffer.concat([state.received, d]); });
    socket.on('end', () => { state.closed = true; });
    socket.on('close', () => { state.closed = true; });
    socket.on('error', () => { state.closed = true; });
    socket.on('connect', () => resolve(state));
    socket.once('error', reject);
  });
}

/** Sends `request` and waits for `count` complete responses in total on the socket. */
async function exchange(state, request, count, timeoutMs = 5000) {
  state.socket.write(request);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { responses } = parseResponses(state.received);
    if (responses.length >= count) return responses;
    assert.ok(!state.closed, `the server closed the connection (${responses.length} responses)`);
    assert.ok(Date.now() < deadline, `no response within ${timeoutMs} ms`);
    await sleep(10);
  }
}

test('a keep-alive connection idle for 65 s is still open and serves the next request',
  { timeout: IDLE_MS + 30_000 }, async () => {
    const srv = await startServer();
    const state = await connect(srv.port);
    const get = `GET /health HTTP/1.1${CRLF}Host: x${CRLF}Connection: keep-alive${CRLF}${CRLF}`;
    const first = await exchange(state, get, 1);
    assert.equal(first[0].status, 200);
    await sleep(IDLE_MS);
    assert.equal(state.closed, false, 'the server kept the idle connection open for 65 s');
    const both = await exchange(state, get, 2);
    assert.equal(both[1].status, 200, 'the second request on the same connection is served');
    state.socket.destroy();
  });
