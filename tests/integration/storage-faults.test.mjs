// Storage faults: a full disk, a database locked by another process, a damaged database
// file. Each answers 503 with Retry-After (never a hang past the request timeout, never
// a crash), logs an error line starting "storage error:", keeps /health live, and
// recovers by itself once the fault clears, without losing acknowledged events.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, stopAll, makeTempDir, listAllEvents, waitForLog, uniq, sleep, errorShapeProblem,
} from './lib/server.mjs';
import { keepAliveClient, now, tryMountTmpfs, unmount, fillUp } from './lib/load.mjs';

const mounts = [];
after(async () => {
  await stopAll();
  for (const m of mounts) unmount(m);
});

const DB_FILE = 'usage-metrics.db';

/** Asserts a proper 503: contract body, SERVICE_UNAVAILABLE, Retry-After. */
function assert503(r, what) {
  assert.equal(r.status, 503, `${what}: expected 503, got ${r.status} ${r.error ?? r.text}`);
  assert.equal(errorShapeProblem(r.json, 'SERVICE_UNAVAILABLE'), '', `${what}: ${r.text}`);
  assert.ok(r.headers['retry-after'], `${what}: 503 carries Retry-After`);
}

const isStorageErrorLine = (l) => l.level === 'error' && typeof l.message === 'string'
  && l.message.startsWith('storage error:');

/**
 * Another process (python3's sqlite3) takes the write lock of the database file with
 * BEGIN EXCLUSIVE and holds it for `ms`. Returns {locked, released}: promises of the
 * moments (now()) it printed each.
 */
function holdWriteLock(file, ms) {
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
  py.on('exit', () => {
    for (const w of waiters) if (!out.includes(w.word)) w.reject(new Error(`python3 exited before "${w.word}": ${err}`));
  });
  const saw = (word) => new Promise((resolve, reject) => waiters.push({ word, resolve, reject }));
  return { locked: saw('locked'), released: saw('released'), process: py };
}

const hasPythonSqlite = () => spawnSync('python3', ['-c', 'import sqlite3'], { stdio: 'ignore' }).status === 0;

/** Posts one event with a client id; records it as acknowledged on 200/201. */
async function write(c, entityId, id, acked) {
  const r = await c.request({ method: 'POST', path: '/v1/events', body: { id, entityId, eventType: 'storage' } });
  if (r.status === 200 || r.status === 201) acked.add(id);
  return r;
}

/** Every acknowledged id is stored once, and the rollup count agrees with the events. */
async function assertKept(srv, c, entityId, acked) {
  const { events } = await listAllEvents(srv, entityId);
  const ids = events.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no event stored twice');
  assert.deepEqual([...acked].filter((id) => !ids.includes(id)), [], 'every acknowledged event is stored');
  const usage = await c.request({ path: `/v1/usage/${encodeURIComponent(entityId)}` });
  assert.equal(usage.status, 200, usage.text);
  assert.equal(usage.json.data.totalEvents, ids.length, 'the rollup count equals the stored events');
}

/** Retries a write until it is acknowledged; returns the ms it took, or Infinity. */
async function writesRecover(c, entityId, acked, limitMs) {
  const t0 = now();
  for (let n = 0; now() - t0 < limitMs; n++) {
    const r = await write(c, entityId, `${entityId}-recovered-${n}`, acked);
    if (r.status === 201) return now() - t0;
    if (r.status !== 503) assert.fail(`while recovering: ${r.status} ${r.error ?? r.text}`);
    await sleep(100);
  }
  return Infinity;
}

test('a full disk: writes answer 503 with Retry-After and an error line, then recover when space returns',
  { timeout: 45_000 }, async (t) => {
    const dataDir = makeTempDir('usage-metrics-full-');
    const why = tryMountTmpfs(dataDir, '8M');
    if (why) {
      t.skip(`cannot mount a tmpfs as the data dir (needs root with mount permission): ${why}`);
      return;
    }
    mounts.push(dataDir);
    const srv = await startServer({ dataDir });
    const c = keepAliveClient(srv.port, { maxSockets: 2 });
    const entityId = uniq('full');
    const acked = new Set();
    // Before: one batch (a single commit keeps the write-ahead log small on the tmpfs).
    const before = Array.from({ length: 20 }, (_, i) => ({ id: `${entityId}-before-${i}`, entityId, eventType: 'storage' }));
    const b = await c.request({ method: 'POST', path: '/v1/events/batch', body: { events: before } });
    assert.equal(b.status, 201, b.text);
    for (const e of before) acked.add(e.id);

    const filler = path.join(dataDir, 'filler');
    const filled = fillUp(filler);
    assert.ok(filled > 0, 'the filler took the free space');

    // The disk is full: within a few writes one must fail (a write may still fit in space
    // the database file or its log already hold), and every answer is 2xx or a proper 503.
    const answers = [];
    let refused;
    for (let n = 0; n < 50 && !refused; n++) {
      const r = await write(c, entityId, `${entityId}-full-${n}`, acked);
      answers.push(r.status);
      if (r.status === 503) refused = r;
      else assert.ok([200, 201].includes(r.status), `while full: ${r.status} ${r.error ?? r.text}`);
    }
    assert.ok(refused, `a write was refused while the disk was full (answers: ${answers.join(',')})`);
    assert503(refused, 'a write on a full disk');
    const line = await waitForLog(srv, isStorageErrorLine, 3000);
    assert.match(JSON.stringify(line), /full|space|disk/i, `the error line says why: ${JSON.stringify(line)}`);
    const h = await c.request({ path: '/health' });
    assert.equal(h.status, 200, `liveness does not depend on disk space: ${h.text}`);
    const read = await c.request({ path: `/v1/events?entityId=${encodeURIComponent(entityId)}&limit=1` });
    assert.equal(read.status, 200, `reads go on while the disk is full: ${read.text}`);

    rmSync(filler);
    const recovery = await writesRecover(c, entityId, acked, 5000);
    console.log(`# storage: full disk: ${answers.length} writes until the first 503; writes back ${Math.round(recovery)} ms after space returned`);
    assert.ok(recovery < 5000, 'writes succeed again within 5 s of space returning');
    await assertKept(srv, c, entityId, acked);
    const ready = await c.request({ path: '/ready' });
    assert.equal(ready.status, 200, ready.text);
    c.close();
    assert.equal(await srv.stop('SIGTERM'), 0, `stops cleanly; stderr: ${srv.stderr}`);
    assert.equal(srv.stderr, '');
  });

test('a database locked by another process: writes answer 503 after the busy timeout (not 504), reads go on, writes recover',
  { timeout: 45_000 }, async (t) => {
    if (!hasPythonSqlite()) {
      t.skip('python3 with its sqlite3 module is needed to hold the lock from another process');
      return;
    }
    const REQUEST_TIMEOUT_MS = 3000; // above the 2 s busy timeout, below the lock's 4 s
    const LOCK_MS = 4000;
    const srv = await startServer({ args: ['--request-timeout-ms', String(REQUEST_TIMEOUT_MS)] });
    const c = keepAliveClient(srv.port, { maxSockets: 4 });
    const entityId = uniq('locked');
    const acked = new Set();
    for (let i = 0; i < 5; i++) {
      const r = await write(c, entityId, `${entityId}-before-${i}`, acked);
      assert.equal(r.status, 201, r.text);
    }

    // The read connection is open (a first read opens it).
    const warm = await c.request({ path: `/v1/events?entityId=${encodeURIComponent(entityId)}` });
    assert.equal(warm.status, 200, warm.text);

    // Another process takes the database's write lock and holds it.
    const lock = holdWriteLock(path.join(srv.dataDir, DB_FILE), LOCK_MS);
    const lockedAt = await lock.locked;
    const writing = write(c, entityId, `${entityId}-during`, acked);
    await sleep(200);
    const read = await c.request({ path: `/v1/events?entityId=${encodeURIComponent(entityId)}` });
    const w = await writing;
    const releasedAt = await lock.released;
    console.log(`# storage: locked: write answered ${w.status} after ${Math.round(w.ms)} ms; read ${read.status} in ${Math.round(read.ms)} ms; lock held ${Math.round(releasedAt - lockedAt)} ms`);

    assert.equal(read.status, 200, `reads go on while another process holds the write lock: ${read.text}`);
    assert.equal(read.json.data.pagination.total, 5);
    assert.ok(read.ms < 1000, `without waiting for the lock (${Math.round(read.ms)} ms)`);
    assert503(w, 'a write while the database is locked');
    assert.ok(w.ms >= 1500, `the write waited for the busy timeout (~2 s) first (${Math.round(w.ms)} ms)`);
    assert.ok(w.end < lockedAt + LOCK_MS, 'it was answered while the lock was still held, not when it was released');
    assert.ok(w.ms < REQUEST_TIMEOUT_MS, `it did not run into the request timeout (${Math.round(w.ms)} ms)`);
    const line = await waitForLog(srv, isStorageErrorLine, 3000);
    assert.match(JSON.stringify(line), /lock|busy/i, `the error line says why: ${JSON.stringify(line)}`);

    const recovery = await writesRecover(c, entityId, acked, 5000);
    console.log(`# storage: locked: writes back ${Math.round(recovery)} ms after the lock was released`);
    assert.ok(recovery < 5000, 'writes succeed again within 5 s of the lock being released');
    await assertKept(srv, c, entityId, acked);
    c.close();
    assert.equal(await srv.stop('SIGTERM'), 0);
    assert.equal(srv.stderr, '');
  });

// Known bug (reported): every connection the service opens runs its schema migration
// in BEGIN IMMEDIATE, which takes the write lock, the read connection included. That
// connection opens on the first read, again after every read error, and again when
// `aggregation` restarts; while another process holds the write lock, such a read waits
// for the 2 s busy timeout and answers 503, although WAL would let it read.
test('a read connection opened while another process holds the write lock still reads',
  { timeout: 30_000 },
  async (t) => {
    if (!hasPythonSqlite()) {
      t.skip('python3 with its sqlite3 module is needed to hold the lock from another process');
      return;
    }
    const srv = await startServer();
    const c = keepAliveClient(srv.port, { maxSockets: 2 });
    const entityId = uniq('locked-first-read');
    const w = await write(c, entityId, `${entityId}-0`, new Set());
    assert.equal(w.status, 201, w.text);
    const lock = holdWriteLock(path.join(srv.dataDir, DB_FILE), 3000);
    await lock.locked;
    // No read so far: this one opens the read connection.
    const read = await c.request({ path: `/v1/events?entityId=${encodeURIComponent(entityId)}` });
    await lock.released;
    c.close();
    console.log(`# storage: first read under another process's write lock: ${read.status} after ${Math.round(read.ms)} ms`);
    assert.equal(read.status, 200, `read while locked: ${read.status} after ${Math.round(read.ms)} ms: ${read.text}`);
    assert.ok(read.ms < 1000, `without waiting for the lock (${Math.round(read.ms)} ms)`);
  });

test('a damaged database file at start: the service starts, /health 200, /ready 503 (storage), writes 503, no crash',
  { timeout: 30_000 }, async () => {
    const dataDir = makeTempDir('usage-metrics-corrupt-');
    const file = path.join(dataDir, DB_FILE);
    const garbage = Buffer.alloc(16 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    writeFileSync(file, garbage);
    const srv = await startServer({ dataDir });
    const c = keepAliveClient(srv.port, { maxSockets: 2 });

    const line = await waitForLog(srv, isStorageErrorLine, 3000);
    assert.match(JSON.stringify(line), /not a database|corrupt|malformed/i, `the error line says why: ${JSON.stringify(line)}`);
    const h = await c.request({ path: '/health' });
    assert.equal(h.status, 200, `live: the process runs and answers (${h.text})`);
    const ready = await c.request({ path: '/ready' });
    assert.equal(ready.status, 503, ready.text);
    assert.equal(ready.json.status, 'not_ready');
    assert.notEqual(ready.json.checks.storage, 'ok', `/ready names storage: ${ready.text}`);

    assert503(await c.request({ method: 'POST', path: '/v1/events', body: { entityId: 'x', eventType: 't' } }),
      'a write on a damaged database');
    assert503(await c.request({ method: 'POST', path: '/v1/events/batch', body: { events: [{ entityId: 'x', eventType: 't' }] } }),
      'a batch on a damaged database');
    assert503(await c.request({ path: '/v1/usage/x' }), 'a usage read on a damaged database');
    assert503(await c.request({ path: '/v1/events?entityId=x' }), 'a list on a damaged database');

    await sleep(300);
    assert.equal(srv.exitCode, undefined, 'still running');
    assert.equal((await c.request({ path: '/health' })).status, 200);
    assert.deepEqual(readFileSync(file), garbage, 'the damaged file is left as it was, for the operator');
    c.close();
    assert.equal(await srv.stop('SIGTERM'), 0);
    assert.equal(srv.stderr, '');
  });
