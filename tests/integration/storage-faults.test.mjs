// Storage faults: a full disk, a database locked by another process, a damaged database
// file. The full disk and the damage run on the default embedded store (RocksDB, in
// <data dir>/rocksdb) and on SQLite; a lock held by another process is SQLite's alone
// (RocksDB lets one process open its directory), so those tests select SQLite by URL. Each answers 503 with Retry-After (never a hang past the request timeout, never
// a crash), logs an error line starting "storage error:", keeps /health live, and
// recovers by itself once the fault clears, without losing acknowledged events.
// How long each takes (the lock wait, the recovery) is measured by bench/faults.mjs;
// here only margins a real failure crosses are asserted.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, stopAll, makeTempDir, waitForLog, uniq, sleep, cannotRunInCi, enospcShimPath,
} from './lib/server.mjs';
import {
  keepAliveClient, tryMountTmpfs, unmount, fillUp, fillShimDisk, hasPythonSqlite, holdWriteLock,
} from './lib/load.mjs';
import { assert503, assertStoredExactlyOnce, refusalProblem } from './lib/outcomes.mjs';

const mounts = [];
after(async () => {
  await stopAll();
  for (const m of mounts) unmount(m);
});

const DB_FILE = 'usage-metrics.db';
/** The arguments that select the SQLite store in `dataDir`. */
const sqliteArgs = (dataDir) => ['--database-url', `sqlite:${path.join(dataDir, DB_FILE)}`];
const BUSY_TIMEOUT_MS = 2000; // storage/sqlite/store.cpp: sqlite3_busy_timeout
const NO_PYTHON = 'python3 with its sqlite3 module is needed to hold the lock from another process (scripts/setup installs it)';

const isStorageErrorLine = (l) => l.level === 'error' && typeof l.message === 'string'
  && l.message.startsWith('storage error:');

/** Posts one event with a client id; records it as acknowledged on 201. */
async function write(c, entityId, id, acked) {
  const r = await c.request({ method: 'POST', path: '/v1/events', body: { id, entityId, eventType: 'storage' } });
  if (r.status === 201) acked.add(id);
  return r;
}

/**
 * Retries a write (a new id each time) until it is acknowledged, for at most limitMs;
 * every answer before that must be a proper 503. Fails when writes never come back.
 */
async function writesRecover(c, entityId, acked, limitMs) {
  const t0 = Date.now();
  for (let n = 0; ; n++) {
    const r = await write(c, entityId, `${entityId}-recovered-${n}`, acked);
    if (r.status === 201) return;
    assert.equal(refusalProblem(r), '', `while recovering: ${r.status} ${r.error ?? r.text}`);
    assert.ok(Date.now() - t0 < limitMs, `writes did not come back within ${limitMs} ms`);
    await sleep(100);
  }
}

/**
 * The full-disk drill on a server whose data dir `fill()` fills and `free()` frees:
 * writes answer 503 with an error line that says why, liveness and reads go on, and
 * writes come back by themselves once space returns, nothing acknowledged lost.
 */
async function fullDisk(srv, { fill, free }) {
  const c = keepAliveClient(srv.port, { maxSockets: 2 });
  const entityId = uniq('full');
  const acked = new Set();
  // Before: one batch (a single commit keeps the write-ahead log small).
  const before = Array.from({ length: 20 }, (_, i) => ({ id: `${entityId}-before-${i}`, entityId, eventType: 'storage' }));
  const b = await c.request({ method: 'POST', path: '/v1/events/batch', body: { events: before } });
  assert.equal(b.status, 201, b.text);
  for (const e of before) acked.add(e.id);

  assert.ok(fill() > 0, 'the filler took the free space');

  // The disk is full: within a few writes one must fail (a write may still fit in space
  // the database file or its log already hold), and every answer is 201 or a proper 503.
  const answers = [];
  let refused;
  for (let n = 0; n < 50 && !refused; n++) {
    const r = await write(c, entityId, `${entityId}-full-${n}`, acked);
    answers.push(r.status);
    if (r.status === 503) refused = r;
    else assert.equal(r.status, 201, `while full: ${r.status} ${r.error ?? r.text}`);
  }
  assert.ok(refused, `a write was refused while the disk was full (answers: ${answers.join(',')})`);
  assert503(refused, 'a write on a full disk');
  const line = await waitForLog(srv, isStorageErrorLine, 10_000);
  assert.match(JSON.stringify(line), /full|space/i, `the error line says why: ${JSON.stringify(line)}`);
  const h = await c.request({ path: '/health' });
  assert.equal(h.status, 200, `liveness does not depend on disk space: ${h.text}`);
  const read = await c.request({ path: `/v1/events?entityId=${encodeURIComponent(entityId)}&limit=1` });
  assert.equal(read.status, 200, `reads go on while the disk is full: ${read.text}`);

  free();
  // Generous: a service that recovers does so in milliseconds; one that does not, never.
  await writesRecover(c, entityId, acked, 15_000);
  await assertStoredExactlyOnce(srv, entityId, { acked });
  const ready = await c.request({ path: '/ready' });
  assert.equal(ready.status, 200, ready.text);
  c.close();
  assert.equal(await srv.stop('SIGTERM'), 0, `stops cleanly; stderr: ${srv.stderr}`);
  assert.equal(srv.stderr, '');
}

// A disk of 8 MiB that only the service sees as such: tests/lib/enospc_shim.cpp,
// preloaded into the service, makes writes that would grow the files of the data dir
// past 8 MiB in all fail with ENOSPC, as the kernel does on a full disk. It needs no
// privileges, so it runs in CI's container, and SQLite's and the service's own code
// handle the error exactly as on a real full disk. (RLIMIT_FSIZE would answer EFBIG,
// which SQLite reports as an I/O error, not as a full disk.)
for (const store of ['rocksdb', 'sqlite']) {
  test(`a full disk (writes fail with ENOSPC), ${store}: writes answer 503 with Retry-After and an error line, then recover when space returns`,
    { timeout: 45_000 }, async () => {
      assert.ok(existsSync(enospcShimPath), `the ENOSPC shim is built with the tests: ${enospcShimPath}`);
      const CAPACITY = 8 * 1024 * 1024;
      const dataDir = makeTempDir('usage-metrics-enospc-');
      const srv = await startServer({
        dataDir,
        args: store === 'sqlite' ? sqliteArgs(dataDir) : [],
        env: { LD_PRELOAD: enospcShimPath, ENOSPC_SHIM_DIR: dataDir, ENOSPC_SHIM_CAPACITY: String(CAPACITY) },
      });
      const filler = path.join(dataDir, 'filler');
      await fullDisk(srv, { fill: () => fillShimDisk(dataDir, CAPACITY, filler), free: () => rmSync(filler) });
    });
}

// The same on a real file system that fills up (a tmpfs of 8 MiB): also covers what
// the shim cannot, such as a full disk under the memory-mapped WAL index.
test('a full tmpfs: writes answer 503 with Retry-After and an error line, then recover when space returns',
  { timeout: 45_000 }, async (t) => {
    const dataDir = makeTempDir('usage-metrics-full-');
    const why = tryMountTmpfs(dataDir, '8M');
    if (why) {
      t.skip(cannotRunInCi(`mounting a tmpfs needs CAP_SYS_ADMIN, which CI's unprivileged container lacks `
        + `(the ENOSPC test above runs there): ${why}`));
      return;
    }
    mounts.push(dataDir);
    const srv = await startServer({ dataDir });
    const filler = path.join(dataDir, 'filler');
    await fullDisk(srv, { fill: () => fillUp(filler), free: () => rmSync(filler) });
  });

test('a database locked by another process: writes answer 503 after the busy timeout (not 504), reads go on, writes recover',
  { timeout: 45_000 }, async (t) => {
    if (!hasPythonSqlite()) {
      t.skip(NO_PYTHON);
      return;
    }
    // The busy timeout (2 s) ends well inside both the request timeout and the lock,
    // also when the write's commit comes after another that waits for it too (the
    // read's self-tracking event, committed first on a loaded machine: 504 at 4 s).
    const REQUEST_TIMEOUT_MS = 8000;
    const LOCK_MS = 12000;
    const dataDir = makeTempDir('usage-metrics-locked-');
    const srv = await startServer({ dataDir, args: [...sqliteArgs(dataDir), '--request-timeout-ms', String(REQUEST_TIMEOUT_MS)] });
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
    await lock.locked;
    const writing = write(c, entityId, `${entityId}-during`, acked);
    const read = await c.request({ path: `/v1/events?entityId=${encodeURIComponent(entityId)}` });
    const readAnsweredAt = read.end;
    const w = await writing;
    const releasedAt = await lock.released;

    // A read that waited for the lock would have failed with SQLITE_BUSY after the busy
    // timeout (503), since the lock is held far longer: a 200 before the release is proof.
    assert.equal(read.status, 200, `reads go on while another process holds the write lock: ${read.text}`);
    assert.equal(read.json.data.pagination.total, 5);
    assert.ok(readAnsweredAt < releasedAt, 'the read was answered while the lock was held');
    assert503(w, 'a write while the database is locked');
    assert.ok(w.ms >= BUSY_TIMEOUT_MS * 0.75, `the write waited for the busy timeout first (${Math.round(w.ms)} ms)`);
    assert.ok(w.end < releasedAt, 'it was answered while the lock was still held, not when it was released');
    const line = await waitForLog(srv, isStorageErrorLine, 10_000);
    assert.match(JSON.stringify(line), /lock|busy/i, `the error line says why: ${JSON.stringify(line)}`);

    await writesRecover(c, entityId, acked, 15_000);
    await assertStoredExactlyOnce(srv, entityId, { acked });
    c.close();
    assert.equal(await srv.stop('SIGTERM'), 0);
    assert.equal(srv.stderr, '');
  });

// Regression: every connection used to run its schema migration in BEGIN IMMEDIATE,
// which takes the write lock, the read connection included. That connection opens on
// the first read, again after a read error and when `aggregation` restarts; while
// another process held the write lock such a read waited for the busy timeout and
// answered 503, although WAL lets it read. A connection to an up-to-date database now
// opens without the write lock.
test('a read connection opened while another process holds the write lock still reads',
  { timeout: 30_000 }, async (t) => {
    if (!hasPythonSqlite()) {
      t.skip(NO_PYTHON);
      return;
    }
    const LOCK_MS = 5000;
    const dataDir = makeTempDir('usage-metrics-locked-');
    const srv = await startServer({ dataDir, args: sqliteArgs(dataDir) });
    const c = keepAliveClient(srv.port, { maxSockets: 2 });
    const entityId = uniq('locked-first-read');
    const w = await write(c, entityId, `${entityId}-0`, new Set());
    assert.equal(w.status, 201, w.text);
    const lock = holdWriteLock(path.join(srv.dataDir, DB_FILE), LOCK_MS);
    await lock.locked;
    // No read so far: this one opens the read connection.
    const read = await c.request({ path: `/v1/events?entityId=${encodeURIComponent(entityId)}` });
    const releasedAt = await lock.released;
    c.close();
    assert.equal(read.status, 200, `read while locked: ${read.status} after ${Math.round(read.ms)} ms: ${read.text}`);
    assert.equal(read.json.data.pagination.total, 1);
    assert.ok(read.end < releasedAt, 'answered while the lock was held, not after it was released');
  });

/**
 * A damaged store at start (`damage(dataDir)` returns the damaged file and what it holds):
 * the service starts, /health 200, /ready 503 naming storage, writes and reads 503, no
 * crash, and the damaged file is left as it was, for the operator.
 */
async function damagedAtStart(damage, args = () => []) {
  const dataDir = makeTempDir('usage-metrics-corrupt-');
  const { file, garbage } = damage(dataDir);
  const srv = await startServer({ dataDir, args: args(dataDir) });
  const c = keepAliveClient(srv.port, { maxSockets: 2 });

  const line = await waitForLog(srv, isStorageErrorLine, 10_000);
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

  assert.equal((await c.request({ path: '/health' })).status, 200);
  c.close();
  // A graceful stop with status 0 proves it was still running and had not crashed.
  assert.equal(await srv.stop('SIGTERM'), 0, `still running and stops cleanly; stderr: ${srv.stderr}`);
  assert.equal(srv.stderr, '');
  assert.deepEqual(readFileSync(file), garbage, 'the damaged file is left as it was, for the operator');
}

function garbageOf(size) {
  const garbage = Buffer.alloc(size);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
  return garbage;
}

test('a damaged database file at start (SQLite): the service starts, /health 200, /ready 503 (storage), writes 503, no crash',
  { timeout: 30_000 }, async () => {
    await damagedAtStart((dataDir) => {
      const file = path.join(dataDir, DB_FILE);
      const garbage = garbageOf(16 * 1024);
      writeFileSync(file, garbage);
      return { file, garbage };
    }, sqliteArgs);
  });

test('a damaged database directory at start (RocksDB): the service starts, /health 200, /ready 503 (storage), writes 503, no crash',
  { timeout: 30_000 }, async () => {
    await damagedAtStart((dataDir) => {
      // A database whose manifest (the list of its files) is garbage.
      const dir = path.join(dataDir, 'rocksdb');
      mkdirSync(dir);
      const garbage = garbageOf(16 * 1024);
      const file = path.join(dir, 'MANIFEST-000001');
      writeFileSync(file, garbage);
      writeFileSync(path.join(dir, 'CURRENT'), 'MANIFEST-000001\n');
      return { file, garbage };
    });
  });
