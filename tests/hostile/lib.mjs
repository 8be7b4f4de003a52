// What the hostile-client suites share: raw connections that read every
// response a server sends on them, and the check that /health still answers
// at once after an attack.

import assert from 'node:assert/strict';
import net from 'node:net';
import { httpRequest } from '../integration/lib/server.mjs';

/** Reads HTTP/1.1 responses off a byte stream, in order. */
export function parseResponses(buffer, { headRequests = 0 } = {}) {
  const responses = [];
  let rest = buffer;
  let heads = headRequests;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.subarray(0, end).toString('latin1');
    const [statusLine, ...lines] = head.split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!match) break;
    const headers = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(match[1]);
    // A HEAD answer and interim/empty statuses carry no body whatever they announce.
    const isHead = heads > 0 && status >= 200;
    const length = isHead || status === 204 || status === 100 ? 0 : Number(headers['content-length'] ?? 0);
    if (rest.length < end + 4 + length) break;
    const body = rest.subarray(end + 4, end + 4 + length).toString('utf8');
    if (isHead) heads -= 1;
    responses.push({ status, headers, body, json: safeJson(body) });
    rest = rest.subarray(end + 4 + length);
  }
  return { responses, rest };
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

/**
 * Opens a connection, writes `data` (a string, a Buffer, or an array of them
 * written one after the other), and collects what comes back until `count`
 * responses have arrived, the server closes, or `timeoutMs` passes.
 */
export function exchangeRaw(port, data, { count = 1, timeoutMs = 5000, headRequests = 0, keepOpen = false } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      const { responses } = parseResponses(received, { headRequests });
      if (!keepOpen) socket.destroy();
      resolve({ responses, raw: received, closed, socket });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (parseResponses(received, { headRequests }).responses.length >= count) finish();
    });
    socket.on('end', () => { closed = true; finish(); });
    socket.on('close', () => { closed = true; finish(); });
    socket.on('error', (err) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') { closed = true; finish(); } else { clearTimeout(timer); reject(err); }
    });
    socket.on('connect', () => {
      for (const part of Array.isArray(data) ? data : [data]) socket.write(part);
    });
  });
}

/** Opens `n` idle connections and resolves once all are connected. */
export async function openIdle(port, n) {
  const sockets = [];
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('connect', resolve);
    s.on('close', resolve);
    sockets.push(s);
  })));
  return sockets;
}

/** /health answers 200 within `withinMs` (a margin only a stuck server crosses). */
export async function assertHealthyFast(srv, withinMs = 50) {
  // One warm-up round trip: a fresh connection costs the client more than the server.
  await httpRequest(srv.port, { path: '/health', timeoutMs: 5000 });
  const t0 = performance.now();
  const res = await httpRequest(srv.port, { path: '/health', timeoutMs: 5000 });
  const ms = performance.now() - t0;
  assert.equal(res.status, 200, `/health answered ${res.status}`);
  assert.ok(ms < withinMs, `/health took ${ms.toFixed(1)} ms (limit ${withinMs} ms)`);
}

export const CRLF = '\r\n';
