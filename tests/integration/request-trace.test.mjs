// A request's trace id runs through every log line it causes: its request line, its
// `request error:` line (which carries the real cause while the client reads a generic
// message), the storage error of a failed group commit (`traceIds`, every request in the
// commit), and the actor and supervisor lines of a part it crashed. The runbook's Logs
// Insights query "every line of one request" is read from docs/RUNBOOK.md and applied,
// as the regular expression it is, to the service's own output lines (what CloudWatch
// stores as @message).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, stopAll, makeTempDir, uniq, sleep, waitForLog, waitForRequestLog,
  enospcShimPath, backend, repoRoot, pgStop, pgStart,
} from './lib/server.mjs';
import { keepAliveClient, fillShimDisk } from './lib/load.mjs';

after(stopAll);

const PLACEHOLDER = 'abc-123-def';

/**
 * The runbook's query for every line of one request, as a function of a trace id that
 * answers whether a raw log line matches it. The query is `filter @message like /…/`
 * with the example trace id in it; the test substitutes each real id (escaped).
 */
function documentedTraceQuery() {
  const runbook = readFileSync(path.join(repoRoot, 'docs', 'RUNBOOK.md'), 'utf8');
  const at = runbook.indexOf('# Every line of one request');
  assert.ok(at >= 0, 'docs/RUNBOOK.md has the query "Every line of one request"');
  const block = runbook.slice(at, runbook.indexOf('```', at));
  const filter = block.split('\n').find((l) => l.startsWith('| filter '));
  assert.ok(filter, `the query has a filter line:\n${block}`);
  const m = /^\| filter @message like \/(.*)\/$/.exec(filter.trim());
  assert.ok(m, `the filter is a regular expression on @message: ${filter}`);
  assert.ok(m[1].includes(PLACEHOLDER), `the filter holds the example trace id: ${filter}`);
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return (traceId) => {
    const re = new RegExp(m[1].replace(PLACEHOLDER, escape(traceId)));
    return (rawLine) => re.test(rawLine);
  };
}

/** The lines of `srv`'s stdout that the documented query returns for `traceId`, parsed. */
function linesOf(srv, query, traceId) {
  const matches = query(traceId);
  return srv.rawStdout.filter(matches).map((l) => JSON.parse(l));
}

/** The requests an error line names: `traceIds`, or `traceId`, or none. */
const named = (line) => line.traceIds ?? (line.traceId ? [line.traceId] : []);

const isCommitFailure = (l) => l.message === 'storage error: commit failed';

/**
 * A storage failure for every commit, on this backend: SQLite's files on a full disk
 * (the ENOSPC shim, preloaded into the service: tests/lib/enospc_shim.cpp), or a
 * stopped PostgreSQL. Returns the server and {fail, restore, cause}.
 */
async function serverWithFailingStorage() {
  if (backend === 'postgres') {
    const srv = await startServer({ args: ['--fault-injection'] });
    let down = false;
    return {
      srv,
      fail: async () => { await pgStop(); down = true; },
      restore: async () => { if (down) await pgStart(); down = false; },
      cause: /connect|refused|closed|terminat|server|broken|no connection/i,
    };
  }
  assert.ok(existsSync(enospcShimPath), `the ENOSPC shim is built with the tests: ${enospcShimPath}`);
  const CAPACITY = 8 * 1024 * 1024;
  const dataDir = makeTempDir('usage-metrics-trace-');
  const srv = await startServer({
    dataDir,
    args: ['--fault-injection'],
    env: { LD_PRELOAD: enospcShimPath, ENOSPC_SHIM_DIR: dataDir, ENOSPC_SHIM_CAPACITY: String(CAPACITY) },
  });
  const filler = path.join(dataDir, 'filler');
  return {
    srv,
    fail: async () => { assert.ok(fillShimDisk(dataDir, CAPACITY, filler) > 0, 'the filler took the free space'); },
    restore: async () => { rmSync(filler, { force: true }); },
    cause: /full|space/i,
  };
}

test('a failed group commit under concurrent writes: every error line names the requests it failed, and the runbook query finds them',
  { timeout: 90_000 }, async () => {
    const query = documentedTraceQuery();
    const { srv, fail, restore, cause } = await serverWithFailingStorage();
    const c = keepAliveClient(srv.port, { maxSockets: 24 });
    const sent = new Set();
    const send = (req) => {
      const traceId = uniq('trace-commit');
      sent.add(traceId);
      return c.request({ ...req, headers: { ...req.headers, 'x-trace-id': traceId } })
        .then((r) => ({ ...r, traceId }));
    };
    const entityId = uniq('traced');
    const warm = await send({ method: 'POST', path: '/v1/events', body: { entityId, eventType: 'trace' } });
    assert.equal(warm.status, 201, warm.text);

    await fail();

    // Each round holds ingest for a moment while 20 writes arrive, so that all but the
    // first go into one commit; with storage failing, that commit fails for all of them.
    // (A write may still fit in space the database's files hold: rounds go on until a
    // commit of several writes has failed.)
    const answers = [];
    const failedIds = new Set();
    const groupFailed = () => srv.logs.some((l) => isCommitFailure(l)
      && named(l).filter((id) => failedIds.has(id)).length >= 2);
    for (let round = 0; round < 30; round++) {
      const hang = await send({ method: 'POST', path: '/admin/faults/ingest/hang?ms=300' });
      assert.equal(hang.status, 202, hang.text);
      const writes = await Promise.all(Array.from({ length: 20 }, (_, i) => send({
        method: 'POST', path: '/v1/events', body: { entityId, eventType: 'trace', metadata: { round, i } },
      })));
      answers.push(...writes);
      // 504: a PostgreSQL connection that broke during COMMIT (outcome unknown).
      for (const w of writes) assert.ok([201, 503, 504].includes(w.status), `${w.status} ${w.text}`);
      for (const w of writes) if (w.status !== 201) failedIds.add(w.traceId);
      if (groupFailed()) break;
    }
    await restore();
    const failed = answers.filter((a) => a.status === 503 || a.status === 504);
    assert.ok(failed.length >= 2, `writes failed while storage did (${answers.map((a) => a.status).join(',')})`);
    // Every request's line is written before the output is searched, and the
    // self-tracking events of the failed writes, committed later, have gone through.
    for (const a of answers) await waitForRequestLog(srv, a.traceId, 10_000);
    let recovered;
    for (let n = 0; n < 100; n++) {
      recovered = await send({ method: 'POST', path: '/v1/events', body: { entityId, eventType: 'trace' } });
      if (recovered.status === 201) break;
      await sleep(100);
    }
    assert.equal(recovered.status, 201, `writes recover once storage does: ${recovered.text}`);
    await waitForRequestLog(srv, recovered.traceId, 10_000);
    c.close();

    const commitFailures = srv.logs.filter(isCommitFailure);
    assert.ok(groupFailed(), `one failed commit covered several writes: ${JSON.stringify(commitFailures)}`);
    console.log(`# ${failed.length} of ${answers.length} writes failed; ${commitFailures.length} failed commits `
      + `named ${commitFailures.map((l) => named(l).length).join(', ')} requests`);
    for (const line of commitFailures) {
      const ids = named(line);
      assert.ok(ids.length > 0, `a failed commit names its requests: ${JSON.stringify(line)}`);
      assert.match(line.error, cause, `it says why: ${JSON.stringify(line)}`);
      // Only ids of requests this test sent (their writes, or their self-tracking events).
      for (const id of ids) assert.ok(sent.has(id), `${id} is a request of this test: ${JSON.stringify(line)}`);
    }
    // Every error line the fault caused names a request.
    for (const line of srv.logs.filter((l) => l.level === 'error' && l.message !== 'HTTP Request')) {
      assert.ok(named(line).length > 0, `an error line without a trace id: ${JSON.stringify(line)}`);
    }

    for (const f of failed) {
      if (f.status === 503) {
        assert.equal(f.json?.error?.message, 'Service temporarily unavailable, retry later',
          `the client reads the generic message: ${f.text}`);
      }
      assert.doesNotMatch(f.text, cause, `the cause is not sent to the client: ${f.text}`);
      const lines = linesOf(srv, query, f.traceId);
      const request = lines.find((l) => l.message === 'HTTP Request');
      assert.equal(request?.statusCode, f.status, `the query finds the request line of ${f.traceId}: ${JSON.stringify(lines)}`);
      const error = lines.find((l) => l.message.startsWith('request error:'));
      assert.ok(error, `the query finds the request error line of ${f.traceId}`);
      assert.equal(error.traceId, f.traceId);
      assert.match(error.error ?? '', cause, `the request error line carries the cause: ${JSON.stringify(error)}`);
      const storage = lines.filter(isCommitFailure);
      assert.ok(storage.length > 0, `the query finds the failed commit of ${f.traceId}: ${JSON.stringify(lines)}`);
      for (const s of storage) assert.ok(named(s).includes(f.traceId));
      // Nothing of another request: each line the query returns names this one.
      for (const l of lines) assert.ok(named(l).includes(f.traceId), JSON.stringify(l));
    }
    assert.equal(await srv.stop('SIGTERM'), 0, `stops cleanly; stderr: ${srv.stderr}`);
  });

test('a crash drill: the actor error and the supervisor lines name the request that crashed the part',
  { timeout: 30_000 }, async () => {
    const query = documentedTraceQuery();
    const srv = await startServer({ args: ['--fault-injection'] });
    const c = keepAliveClient(srv.port, { maxSockets: 2 });
    const traceId = uniq('trace-crash');
    const r = await c.request({ method: 'POST', path: '/admin/faults/aggregation/crash', headers: { 'x-trace-id': traceId } });
    assert.equal(r.status, 202, r.text);
    await waitForLog(srv, (l) => l.message === 'component restarted' && l.component === 'aggregation', 10_000);
    await waitForRequestLog(srv, traceId, 10_000);
    c.close();
    const lines = linesOf(srv, query, traceId);
    const messages = lines.map((l) => l.message);
    for (const want of ['HTTP Request', 'actor error: unhandled exception', 'component error: restarting', 'component restarted']) {
      assert.ok(messages.includes(want), `the query finds "${want}" for ${traceId}: ${JSON.stringify(lines)}`);
    }
    const restarting = lines.find((l) => l.message === 'component error: restarting');
    assert.equal(restarting.component, 'aggregation');
    assert.equal(restarting.traceId, traceId);
    // The reason stays what it was; the request is named beside it.
    assert.doesNotMatch(restarting.reason, new RegExp(traceId));
  });

test('a request error line carries the real cause of a timeout, the client the generic message',
  { timeout: 30_000 }, async () => {
    const srv = await startServer({ args: ['--fault-injection', '--request-timeout-ms', '300'] });
    const c = keepAliveClient(srv.port, { maxSockets: 2 });
    assert.equal((await c.request({ method: 'POST', path: '/admin/faults/aggregation/hang?ms=1500' })).status, 202);
    const traceId = uniq('trace-timeout');
    const r = await c.request({ path: '/v1/usage/stats', headers: { 'x-trace-id': traceId } });
    assert.equal(r.status, 504, r.text);
    assert.equal(r.json.error.message, 'The request timed out');
    const line = await waitForLog(srv, (l) => l.traceId === traceId && l.message.startsWith('request error:'), 10_000);
    assert.equal(line.code, 'TIMEOUT');
    assert.ok(line.error && line.error !== line.message, `the cause is logged: ${JSON.stringify(line)}`);
    assert.match(line.error, /timeout/i, JSON.stringify(line));
    await sleep(1300); // let the hang pass before the server stops
    c.close();
  });
