// Starts the real usage-metrics binary for black-box tests and speaks HTTP to it.
//
// Every process started here is remembered; stopAll() (called from each file's `after`)
// and a process 'exit' hook kill whatever is still running, so a failed test never leaves
// a server behind.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const binaryPath =
  process.env.USAGE_METRICS_BIN || path.join(repoRoot, 'build', 'usage-metrics');
/** tests/lib/enospc_shim.cpp, built with the tests: a small disk without mount rights. */
export const enospcShimPath =
  process.env.ENOSPC_SHIM || path.join(repoRoot, 'build', 'tests', 'libenospc_shim.so');

export const SERVICE = 'ioanyt-delivery-standard';
// The version the binary under test was built with (ctest passes the CMake
// cache variable USAGE_METRICS_VERSION; 1.0.0 is its default).
export const VERSION = process.env.USAGE_METRICS_EXPECTED_VERSION || '1.0.0';
export const ISO_MS_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
export const UUID_ANY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Variables the service reads; never inherited from the shell running the tests.
const SERVICE_ENV = ['HOST', 'PORT', 'DATA_DIR', 'DATABASE_URL', 'API_KEYS', 'LOG_LEVEL',
  'ENVIRONMENT', 'REQUEST_TIMEOUT_MS', 'RETENTION', 'FAULT_INJECTION', 'CORS_ORIGIN',
  'SYNCHRONOUS', 'IO_THREADS', 'METERS_FILE', 'PORTAL_SECRET'];

/** The inherited environment without the service's own variables (for direct spawns). */
export function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of SERVICE_ENV) delete env[k];
  return { ...env, ...extra };
}

const live = new Set();
const tempDirs = new Set();

process.on('exit', () => {
  for (const s of live) {
    try { s.process.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const d of tempDirs) {
    try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A unique, readable id for test data (entity ids, trace ids, client event ids). */
export function uniq(prefix = 'itest') {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function makeTempDir(prefix = 'usage-metrics-itest-') {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

/** A loopback port that was free a moment ago (listen on 0, read, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function assertBinary() {
  if (!existsSync(binaryPath)) {
    throw new Error(
      `usage-metrics binary not found at ${binaryPath}; build it or set USAGE_METRICS_BIN`,
    );
  }
}

/**
 * Spawns the binary and waits until GET /health answers 200.
 *
 * options:
 *   args      extra command-line arguments
 *   env       extra environment variables (the service's own variables are removed from the
 *             inherited environment first, so the caller's shell cannot change a test)
 *   dataDir   data directory (default: a fresh temp dir)
 *   viaEnv    pass host/port/data dir as HOST/PORT/DATA_DIR instead of flags
 *   port      a fixed port (default: a free one)
 *   waitReady false to return without waiting for /health
 *   binary    the executable to start (default: binaryPath)
 */
// --- PostgreSQL mode ---------------------------------------------------------
// With USAGE_METRICS_BACKEND=postgres every server of this test process uses a
// private PostgreSQL cluster (tests/pg's pg_cluster tool, started once per
// process): each data dir maps to its own database, so a restart on the same
// data dir finds the same data, as with the embedded store.
export const backend = process.env.USAGE_METRICS_BACKEND === 'postgres' ? 'postgres' : 'sqlite';
const pgClusterBin = process.env.PG_CLUSTER_BIN ?? path.join(repoRoot, 'build', 'tests', 'pg', 'pg_cluster');
let pgCluster = null;
const pgDatabases = new Map();

function pgCommand(command) {
  const cluster = pgCluster;
  return new Promise((resolve, reject) => {
    // The tool answers commands one line each, in order.
    cluster.pending.push((line) =>
      line.startsWith('ok') ? resolve(line.slice(3)) : reject(new Error(`pg_cluster ${command}: ${line}`)));
    holdPgCluster(cluster, true);
    cluster.child.stdin.write(`${command}\n`);
  });
}

// The cluster keeps the event loop alive only while an answer is awaited, so
// a test process ends when its tests do (and its stdin's end stops the tool).
function holdPgCluster(cluster, hold) {
  const { child } = cluster;
  for (const h of [child, child.stdin, child.stdout, child.stderr]) {
    if (hold) h.ref?.();
    else h.unref?.();
  }
}

/** Starts (once) the private cluster; returns {url, port}. */
export async function ensurePgCluster() {
  if (pgCluster) return pgCluster.ready;
  const child = spawn(pgClusterBin, ['usage_metrics_itest'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const cluster = { child, pending: [], stderr: '' };
  pgCluster = cluster;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c) => { cluster.stderr += c; });
  cluster.ready = new Promise((resolve, reject) => {
    let buf = '';
    let first = true;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (first) {
          first = false;
          holdPgCluster(cluster, false);
          resolve({ url: line, port: new URL(line).port });
        } else {
          cluster.pending.shift()?.(line);
          holdPgCluster(cluster, cluster.pending.length > 0);
        }
      }
    });
    child.on('exit', (code) => {
      if (first) reject(new Error(`pg_cluster exited with ${code}: ${cluster.stderr}`));
    });
  });
  return cluster.ready;
}

/**
 * The timeout of a `before` hook that starts a server: on PostgreSQL the first start
 * also creates and starts the private cluster (initdb), which takes seconds, and many
 * on a loaded machine. A server that never starts still fails it.
 */
export const START_TIMEOUT_MS = 60_000;

/** Stops and starts the private cluster's server (outage tests). */
export async function pgStop() { await ensurePgCluster(); await pgCommand('stop'); }
export async function pgStart() { await ensurePgCluster(); await pgCommand('start'); }

/** The database URL that stands for `dataDir` in PostgreSQL mode. */
export async function databaseUrlFor(dataDir) {
  await ensurePgCluster();
  if (!pgDatabases.has(dataDir)) {
    const name = `itest_${pgDatabases.size + 1}_${process.pid}`;
    pgDatabases.set(dataDir, await pgCommand(`createdb ${name}`));
  }
  return pgDatabases.get(dataDir);
}

function stopPgCluster() {
  if (!pgCluster) return;
  const cluster = pgCluster;
  pgCluster = null;
  pgDatabases.clear();
  for (const answer of cluster.pending.splice(0)) answer('error: the cluster was stopped');
  try { cluster.child.stdin.end(); } catch { /* gone */ }
  for (const h of [cluster.child, cluster.child.stdin, cluster.child.stdout, cluster.child.stderr]) h.unref?.();
}
process.on('exit', stopPgCluster);

export async function startServer({
  args = [],
  env = {},
  dataDir,
  viaEnv = false,
  port,
  waitReady = true,
  healthTimeoutMs = 10_000,
  binary = binaryPath,
} = {}) {
  if (binary === binaryPath) assertBinary();
  else if (!existsSync(binary)) throw new Error(`executable not found at ${binary}`);
  port = port ?? (await freePort());
  dataDir = dataDir ?? makeTempDir();
  const baseArgs = viaEnv ? [] : ['--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir];
  if (backend === 'postgres' && !args.includes('--database-url')) {
    baseArgs.push('--database-url', await databaseUrlFor(dataDir));
  }
  const childEnv = cleanEnv({
    ...(viaEnv ? { HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir } : {}),
    ...env,
  });
  const child = spawn(binary, [...baseArgs, ...args], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const server = {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    dataDir,
    logs: [], // parsed JSON objects from stdout, in order
    rawStdout: [], // every stdout line as text
    nonJsonLines: [], // stdout lines that did not parse as a JSON object
    stderr: '',
    process: child,
    exitCode: undefined,
    exitSignal: undefined,
    exited: null,
    logWaiters: new Set(),
  };

  server.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      server.exitCode = code;
      server.exitSignal = signal;
    });
    // 'close' fires after stdio is drained, so all log lines are in by then.
    child.on('close', (code, signal) => {
      live.delete(server);
      resolve({ code, signal });
    });
  });
  child.on('error', (err) => {
    server.stderr += `\n[spawn error] ${err.message}`;
  });

  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl).replace(/\r$/, '');
      partial = partial.slice(nl + 1);
      addLine(server, line);
    }
  });
  child.stdout.on('end', () => {
    if (partial.length) addLine(server, partial);
    partial = '';
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    server.stderr += chunk;
  });

  server.stop = async (signal = 'SIGTERM', timeoutMs = 5000) => {
    if (server.exitCode === undefined && server.exitSignal === undefined) {
      try { child.kill(signal); } catch { /* gone */ }
    }
    const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    const { code, signal: sig } = await server.exited;
    clearTimeout(timer);
    return code ?? (sig ? `signal ${sig}` : code);
  };
  server.kill9 = async () => {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
    return server.exited;
  };
  server.waitForLog = (pred, timeoutMs) => waitForLog(server, pred, timeoutMs);
  server.url = (p) => `${server.baseUrl}${p}`;

  live.add(server);

  if (waitReady) {
    try {
      await waitForHealth(server, healthTimeoutMs);
    } catch (err) {
      await server.kill9();
      throw err;
    }
  }
  return server;
}

function addLine(server, line) {
  server.rawStdout.push(line);
  if (line.trim() === '') {
    server.nonJsonLines.push(line);
    return;
  }
  let obj;
  try {
    obj = JSON.parse(line);
  } catch {
    server.nonJsonLines.push(line);
    return;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    server.nonJsonLines.push(line);
    return;
  }
  server.logs.push(obj);
  for (const w of server.logWaiters) {
    if (w.pred(obj)) {
      server.logWaiters.delete(w);
      w.resolve(obj);
    }
  }
}

async function waitForHealth(server, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = 'no answer';
  while (Date.now() < deadline) {
    if (server.exitCode !== undefined || server.exitSignal !== undefined) {
      throw new Error(
        `server exited early (code ${server.exitCode}, signal ${server.exitSignal}); stderr: ${server.stderr.trim()}; stdout: ${server.rawStdout.slice(-5).join(' | ')}`,
      );
    }
    try {
      const res = await httpRequest(server.port, { path: '/health', timeoutMs: 1000 });
      if (res.status === 200) return;
      lastErr = `status ${res.status}`;
    } catch (err) {
      lastErr = err.message;
    }
    await sleep(50);
  }
  throw new Error(`server did not become healthy within ${timeoutMs} ms (${lastErr}); stderr: ${server.stderr.trim()}`);
}

/** Resolves with the first log object (already seen or future) matching pred. */
export function waitForLog(server, pred, timeoutMs = 3000) {
  const seen = server.logs.find(pred);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const w = { pred, resolve: (o) => { clearTimeout(timer); resolve(o); } };
    const timer = setTimeout(() => {
      server.logWaiters.delete(w);
      reject(new Error(`no log line matched within ${timeoutMs} ms; last lines:\n${server.rawStdout.slice(-5).join('\n')}`));
    }, timeoutMs);
    server.logWaiters.add(w);
  });
}

/** The request log line ("HTTP Request") carrying the given trace id. */
export function waitForRequestLog(server, traceId, timeoutMs = 3000) {
  return waitForLog(server, (l) => l.message === 'HTTP Request' && l.traceId === traceId, timeoutMs);
}

/**
 * Kills every server still running, stops the private PostgreSQL cluster and removes
 * temp dirs. Call from `after`: once it ran, nothing the harness started keeps the test
 * process alive, even when a hook failed with a cluster command still unanswered.
 */
export async function stopAll() {
  const servers = [...live];
  await Promise.all(servers.map((s) => s.stop('SIGKILL', 5000).catch(() => {})));
  stopPgCluster();
  for (const d of tempDirs) {
    try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  tempDirs.clear();
}

/**
 * JSON request through fetch. Returns {status, headers, text, json}.
 * `body` objects are sent as JSON; strings/Buffers as is.
 */
export async function api(server, method, p, { body, headers = {}, timeoutMs = 5000 } = {}) {
  const h = { ...headers };
  let payload;
  if (body !== undefined) {
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      payload = body;
    } else {
      payload = JSON.stringify(body);
    }
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
      h['content-type'] = 'application/json';
    }
  }
  const res = await fetch(`${server.baseUrl}${p}`, {
    method,
    headers: h,
    body: payload,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

/**
 * Request through node:http (no automatic decompression, raw headers visible).
 * Returns {status, headers (lower-case object), rawHeaders, body (Buffer), text, json}.
 */
export function httpRequest(port, { method = 'GET', path: p = '/', headers = {}, body, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: p, headers, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          const text = buf.toString('utf8');
          let json;
          try { json = JSON.parse(text); } catch { json = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, body: buf, text, json });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Writes raw bytes over a TCP socket and returns whatever the server answered
 * (as latin1 text, so every byte survives) once it closes the connection or
 * goes quiet for `idleMs`. Write errors (server closed early) are ignored.
 */
export function rawRequest(port, data, { idleMs = 500, timeoutMs = 5000 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let done = false;
    let idle;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      clearTimeout(hard);
      sock.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const hard = setTimeout(finish, timeoutMs);
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(finish, idleMs);
    };
    sock.on('connect', () => {
      sock.write(data, () => armIdle());
    });
    sock.on('data', (c) => {
      chunks.push(c);
      armIdle();
    });
    sock.on('error', () => finish());
    sock.on('end', () => finish());
    sock.on('close', () => finish());
  });
}

/** Parses the status line and headers of a raw HTTP response text. */
export function parseRawResponse(text) {
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd >= 0 ? text.slice(0, headEnd) : text;
  const [statusLine, ...lines] = head.split('\r\n');
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(statusLine || '');
  const headers = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = headEnd >= 0 ? text.slice(headEnd + 4) : '';
  if (/chunked/i.test(headers['transfer-encoding'] || '')) body = dechunk(body);
  return { status: m ? Number(m[1]) : undefined, headers, body };
}

function dechunk(text) {
  let out = '';
  let i = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', i);
    if (eol < 0) return out;
    const size = parseInt(text.slice(i, eol), 16);
    if (!(size > 0)) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

/**
 * Polls fn() until it returns a truthy value, and returns that value. When the time runs
 * out it throws, naming `what` and the last value fn() returned: a condition that never
 * came true fails the test even if the caller forgets to check.
 */
export async function eventually(fn, { timeoutMs = 2000, intervalMs = 50, what = 'the condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() >= deadline) {
      let shown;
      try { shown = JSON.stringify(last); } catch { shown = String(last); }
      throw new Error(`${what} did not hold within ${timeoutMs} ms (last value: ${shown})`);
    }
    await sleep(intervalMs);
  }
}

/**
 * The reason to give t.skip() for a test the CI machine cannot run: it must say why.
 * Under CI=true any other skip fails the run (tests/lib/skip-policy.mjs).
 */
export const cannotRunInCi = (why) => `cannot run in CI: ${why}`;

/**
 * Percent-encodes every query value of a path the way URLSearchParams and browsers'
 * encodeURIComponent do (`:` → %3A, `+` → %2B), so a test of usage semantics does not
 * depend on how the server treats raw reserved characters (tested on their own).
 */
export function encodeQuery(p) {
  const i = p.indexOf('?');
  if (i < 0) return p;
  const pairs = p.slice(i + 1).split('&').map((kv) => {
    const j = kv.indexOf('=');
    if (j < 0) return kv;
    return `${kv.slice(0, j)}=${encodeURIComponent(decodeURIComponent(kv.slice(j + 1)))}`;
  });
  return `${p.slice(0, i)}?${pairs.join('&')}`;
}

/** POST /v1/events with a JSON body; returns the api() result. */
export function postEvent(server, event, opts = {}) {
  return api(server, 'POST', '/v1/events', { body: event, ...opts });
}

/** Every stored event of an entity (follows pagination). */
export async function listAllEvents(server, entityId, opts = {}) {
  const all = [];
  let offset = 0;
  for (;;) {
    const q = new URLSearchParams({ entityId, limit: '1000', offset: String(offset) });
    const r = await api(server, 'GET', `/v1/events?${q}`, opts);
    if (r.status !== 200) throw new Error(`GET /v1/events -> ${r.status}: ${r.text}`);
    all.push(...r.json.data.events);
    if (!r.json.data.pagination.hasMore) return { events: all, total: r.json.data.pagination.total };
    // A page may stop early at its size bound: go on from what it held.
    offset += r.json.data.events.length;
  }
}

/** Asserts the contract error body: {"error":{"code","message","traceId"}}, traceId = header. */
export function assertError(res, status, code, message) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  const problem = errorShapeProblem(res.json, code);
  assert.equal(problem, '', `error body ${res.text}: ${problem}`);
  const hdr = typeof res.headers.get === 'function' ? res.headers.get('x-trace-id') : res.headers['x-trace-id'];
  assert.equal(res.json.error.traceId, hdr, 'error.traceId equals the x-trace-id header');
  if (message !== undefined) assert.equal(res.json.error.message, message);
}

/** Asserts-free check that an error body has the contract shape; returns a reason or ''. */
export function errorShapeProblem(json, code) {
  if (!json || typeof json !== 'object') return 'body is not JSON';
  const keys = Object.keys(json);
  if (keys.length !== 1 || keys[0] !== 'error') return `top-level keys ${JSON.stringify(keys)}`;
  const e = json.error;
  if (!e || typeof e !== 'object') return 'error is not an object';
  if (e.code !== code) return `code ${JSON.stringify(e.code)} != ${code}`;
  if (typeof e.message !== 'string' || e.message === '') return 'message not a non-empty string';
  if (typeof e.traceId !== 'string' || e.traceId === '') return 'traceId not a non-empty string';
  return '';
}
