// Helpers for the failure-isolation tests (resilience, overload, storage faults):
// keep-alive HTTP clients that time every request, percentiles, the server's resident
// memory, the Prometheus text of /metrics, a disk that fills up (a small tmpfs, or the
// ENOSPC shim's), and SQLite's write lock held by another process.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

/** Milliseconds on a monotonic clock (performance.now), shared by every record here. */
export const now = () => performance.now();

/**
 * A client with its own keep-alive connection pool to 127.0.0.1:port.
 * client.request({method, path, headers, body, timeoutMs}) resolves with
 * {status, headers, text, json, start, end, ms} and never rejects: a transport
 * failure (reset, refused, timed out) resolves with {status: 0, error}.
 */
export function keepAliveClient(port, { maxSockets = 8 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const request = ({ method = 'GET', path, headers = {}, body, timeoutMs = 10_000 } = {}) =>
    new Promise((resolve) => {
      const start = now();
      let done = false;
      const finish = (r) => {
        if (done) return;
        done = true;
        const end = now();
        resolve({ ...r, start, end, ms: end - start });
      };
      const h = { ...headers };
      let payload;
      if (body !== undefined) {
        payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
        h['content-type'] ??= 'application/json';
        h['content-length'] = Buffer.byteLength(payload);
      }
      const req = http.request({ host: '127.0.0.1', port, method, path, headers: h, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try { json = JSON.parse(text); } catch { json = undefined; }
          finish({ status: res.statusCode, headers: res.headers, text, json });
        });
        res.on('error', (err) => finish({ status: 0, error: err.message }));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => finish({ status: 0, error: err.message }));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  return { request, close: () => agent.destroy() };
}

/** The p-th percentile (0..100, nearest rank) of a list of numbers; NaN when empty. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Resident memory of a process in MiB (VmRSS of /proc/<pid>/status), or NaN. */
export function rssMiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Parses Prometheus text into a Map from `name{labels}` (labels as the server wrote
 * them) to a number; metric(map, name, {label: value}) reads one series.
 */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

export function metric(map, name, labels = {}) {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const [key, value] of map) {
    const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key);
    if (m[1] !== name) continue;
    const have = m[2] ? m[2].split(',') : [];
    if (want.every((w) => have.includes(w)) && want.length === have.length) return value;
  }
  return undefined;
}

/**
 * Mounts a tmpfs of `size` (e.g. '2M') on dir. Returns '' on success, else why not
 * (not root, no mount permission in this container, no mount binary).
 */
export function tryMountTmpfs(dir, size) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    return '';
  } catch (err) {
    return (err.stderr?.toString() || err.message).trim();
  }
}

/** Unmounts dir (lazily if still busy); never throws. */
export function unmount(dir) {
  for (const args of [[dir], ['-l', dir]]) {
    try {
      execFileSync('umount', args, { stdio: 'ignore' });
      return true;
    } catch { /* try the next way */ }
  }
  return false;
}

/** Writes zeros to `file` until the file system is full (ENOSPC); returns bytes written. */
export function fillUp(file) {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (err) {
        if (err.code === 'ENOSPC') return written;
        throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The bytes the regular files in `dir` and below take, as tests/lib/enospc_shim.cpp
 * counts them (their sizes).
 */
export function usedBytes(dir) {
  let total = 0;
  for (const name of readdirSync(dir)) {
    try {
      const st = statSync(path.join(dir, name));
      if (st.isFile()) total += st.size;
      else if (st.isDirectory()) total += usedBytes(path.join(dir, name));
    } catch { /* removed meanwhile */ }
  }
  return total;
}

/**
 * Fills the ENOSPC shim's disk (`dir`, `capacity` bytes): writes `file` with exactly
 * the bytes left, so the next write that grows a file there fails. Returns their number.
 */
export function fillShimDisk(dir, capacity, file) {
  const left = Math.max(0, capacity - usedBytes(dir));
  writeFileSync(file, Buffer.alloc(left));
  return left;
}

/** Whether python3 with its sqlite3 module runs here (scripts/setup installs it). */
export const hasPythonSqlite = () =>
  spawnSync('python3', ['-c', 'import sqlite3'], { stdio: 'ignore' }).status === 0;

/**
 * Another process (python3's sqlite3) takes the write lock of the database file with
 * BEGIN EXCLUSIVE and holds it for `ms`. Returns {locked, released, exited}: promises
 * of the moments (now()) it printed each, and of its exit.
 */
export function holdWriteLock(file, ms) {
  const py = spawn('python3', ['-c', `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute('BEGIN EXCLUSIVE')
print('locked', flush=True)
time.sleep(float(sys.argv[2]) / 1000)
db.execute('ROLLBACK')
db.close()
print('released', flush=True)
`, file, String(ms)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = [];
  py.stdout.setEncoding('utf8');
  py.stdout.on('data', (d) => {
    out += d;
    for (const w of waiters) if (out.includes(w.word)) w.resolve(now());
  });
  py.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => py.on('exit', (code) => {
    for (const w of waiters) if (!out.includes(w.word)) w.reject(new Error(`python3 exited before "${w.word}": ${err}`));
    resolve(code);
  }));
  const saw = (word) => new Promise((resolve, reject) => waiters.push({ word, resolve, reject }));
  return { locked: saw('locked'), released: saw('released'), exited, process: py };
}

/** Summary of a list of numbers for messages: n, min, p50, p99, max (rounded ms). */
export function describe(values) {
  const r = (x) => Math.round(x * 10) / 10;
  return `n=${values.length} min=${r(Math.min(...values))} p50=${r(percentile(values, 50))} ` +
    `p99=${r(percentile(values, 99))} max=${r(Math.max(...values))}`;
}
