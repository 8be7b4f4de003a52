// Extension, needs --fault-injection (POST /admin/faults/:actor/crash and
// /admin/faults/:actor/hang?ms=N): timeouts answer 504 TIMEOUT, crashed parts come back
// (503 SERVICE_UNAVAILABLE with Retry-After in between), acknowledged data survives, 5xx
// are logged at level error in a form the runbook's queries find, and nothing leaks.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, stopAll, api, assertError, postEvent, waitForRequestLog, eventually, uniq,
  START_TIMEOUT_MS,
} from './lib/server.mjs';
import { assertStoredExactlyOnce, refusalProblem } from './lib/outcomes.mjs';

const T = { timeout: 20_000 };
let srv;

before(async () => {
  srv = await startServer({ args: ['--fault-injection', '--request-timeout-ms', '300'] });
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

const LEAK = /\bat [\w.<>]+ \(|\.cpp\b|\.hpp\b|std::|nlohmann|restinio|caf::|sqlite|exception|injected|runtime_error|what\(\)/i;

function fault(actor, kind, ms) {
  return api(srv, 'POST', `/admin/faults/${actor}/${kind}${ms ? `?ms=${ms}` : ''}`);
}

/**
 * Retries fn until it answers `want`; every answer before that must be a proper 503
 * (SERVICE_UNAVAILABLE, Retry-After, the contract body, nothing internal leaked), or,
 * where `allow504`, a proper 504 TIMEOUT. The limit only makes a part that never comes
 * back fail the test (bench/faults.mjs measures how soon they do).
 */
async function recovers(fn, want, label, { allow504 = false } = {}) {
  const seen = [];
  try {
    return await eventually(async () => {
      const r = await fn();
      seen.push(r.status);
      if (r.status === want) return r;
      assert.equal(refusalProblem(r, { allow504 }), '', `${label}: ${r.status} ${r.text}`);
      assert.doesNotMatch(r.text, LEAK);
      return null;
    }, { timeoutMs: 15_000, intervalMs: 100, what: `${label} answering ${want}` });
  } catch (err) {
    err.message += `; statuses seen: ${seen.join(',')}`;
    throw err;
  }
}

/** Polls /health until components[part] shows `restarts` restarts and is up again. */
async function restarted(part, restarts) {
  return eventually(async () => {
    const h = await api(srv, 'GET', '/health');
    const c = h.json?.components?.[part];
    return c?.state === 'up' && c.restarts === restarts ? c : null;
  }, { timeoutMs: 15_000, intervalMs: 20, what: `${part} restarted (${restarts} restarts) and up` });
}

test('without --fault-injection the admin route does not exist (404)', T, async () => {
  const plain = await startServer();
  const r = await api(plain, 'POST', '/admin/faults/ingest/crash');
  assertError(r, 404, 'NOT_FOUND', 'Route POST /admin/faults/ingest/crash not found');
  assert.equal((await postEvent(plain, { entityId: 'x', eventType: 't' })).status, 201);
});

test('a hung aggregation answers 504 TIMEOUT after --request-timeout-ms, and /health stays up', T, async () => {
  const entityId = uniq('hang');
  assert.equal((await postEvent(srv, { entityId, eventType: 't' })).status, 201);
  const HANG_MS = 5000;
  const f = await fault('aggregation', 'hang', HANG_MS);
  assert.equal(f.status, 202, f.text);
  const traceId = uniq('timeout');
  const t0 = Date.now();
  const r = await api(srv, 'GET', `/v1/usage/${entityId}`, { headers: { 'x-trace-id': traceId }, timeoutMs: 10_000 });
  const took = Date.now() - t0;
  assertError(r, 504, 'TIMEOUT');
  assert.equal(r.json.error.traceId, traceId);
  assert.doesNotMatch(r.json.error.message, LEAK);
  // Answered by the 300 ms request timeout: an answer that waited for the part would
  // come when the 5 s hang ends.
  assert.ok(took < HANG_MS / 2, `answered at the request timeout, not after the hang (${took} ms)`);
  const h = await api(srv, 'GET', '/health');
  assert.equal(h.status, 200, 'liveness does not depend on the hung part');

  const line = await waitForRequestLog(srv, traceId);
  assert.equal(line.level, 'error');
  assert.equal(line.statusCode, 504);
  const raw = srv.rawStdout.find((l) => l.includes(traceId) && l.includes('HTTP Request'));
  // Runbook: `filter @message like /error|Error|ERROR/ | stats count() by path`.
  assert.match(raw, /error|Error|ERROR/);
  assert.equal(typeof line.path, 'string');

  const back = await recovers(() => api(srv, 'GET', `/v1/usage/${entityId}`, { timeoutMs: 10_000 }), 200,
    'usage after the hang', { allow504: true });
  assert.equal(back.json.data.totalEvents, 1);
});

// /ready asks each connection to the database through the part that owns it: a hung
// part is not ready, and neither is `storage`, whose round trip on that part's
// connection cannot happen. (Checks wait half of the 300 ms request timeout here.)
for (const part of ['aggregation', 'ingest']) {
  test(`a hung ${part}: /ready answers 503 with ${part} and storage timed out, then 200 again`, T, async () => {
    const f = await fault(part, 'hang', 1500);
    assert.equal(f.status, 202, f.text);
    const r = await api(srv, 'GET', '/ready');
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.status, 'not_ready');
    assert.equal(r.json.checks[part], 'timeout', r.text);
    assert.equal(r.json.checks.storage, 'timeout', r.text);
    const other = part === 'ingest' ? 'aggregation' : 'ingest';
    assert.equal(r.json.checks[other], 'ok', r.text);
    assert.equal(r.json.checks['log-shipper'], 'ok', r.text);
    await eventually(async () => (await api(srv, 'GET', '/ready')).status === 200,
      { timeoutMs: 10_000, what: `/ready once the ${part} hang is over` });
  });
}

test('a crashed ingest comes back; events acknowledged before the crash are kept', T, async () => {
  const entityId = uniq('crash-ingest');
  const before0 = [];
  for (let i = 0; i < 5; i++) {
    const r = await postEvent(srv, { id: `${entityId}-${i}`, entityId, eventType: 't' });
    assert.equal(r.status, 201, r.text);
    before0.push(r.json.data.id);
  }
  const f = await fault('ingest', 'crash');
  assert.equal(f.status, 202, f.text);
  // Every attempt before the first success was refused with 503 (not stored), so the
  // first success stores the id: 201.
  await recovers(() => postEvent(srv, { id: `${entityId}-after`, entityId, eventType: 't' }), 201, 'POST after crash');
  const acked = [...before0, `${entityId}-after`];
  const stored = await assertStoredExactlyOnce(srv, entityId, { acked, sent: acked });
  assert.equal(stored.size, acked.length);
  await recovers(() => api(srv, 'GET', '/ready'), 200, '/ready after crash');
});

test('a crashed aggregation comes back', T, async () => {
  const f = await fault('aggregation', 'crash');
  assert.equal(f.status, 202, f.text);
  const r = await recovers(() => api(srv, 'GET', '/v1/usage/stats'), 200, 'stats after crash');
  assert.equal(r.json.success, true);
});

test('a crashed health actor comes back; /health answers 200 all along (it does not blink)', T, async () => {
  const before0 = (await api(srv, 'GET', '/health')).json.components.health.restarts;
  const f = await fault('health', 'crash');
  assert.equal(f.status, 202, f.text);
  // docs/API.md, docs/RUNBOOK.md: /health is answered from the last published report and
  // stays 200 while the health part restarts. Every probe until it is back says so.
  await eventually(async () => {
    const h = await api(srv, 'GET', '/health');
    assert.equal(h.status, 200, `/health while the health part restarts: ${h.text}`);
    const c = h.json.components.health;
    return c.state === 'up' && c.restarts === before0 + 1;
  }, { timeoutMs: 15_000, intervalMs: 5, what: 'the health part restarted' });
  // /ready is the health part's own answer: 503 (unavailable) until it is back is allowed.
  await recovers(() => api(srv, 'GET', '/ready'), 200, '/ready after crash');
});

test('a crashed log shipper comes back: later requests are logged again', T, async () => {
  const before0 = (await api(srv, 'GET', '/health')).json.components['log-shipper'].restarts;
  const f = await fault('log-shipper', 'crash');
  assert.equal(f.status, 202, f.text);
  await restarted('log-shipper', before0 + 1);
  const traceId = uniq('after-log-crash');
  await api(srv, 'GET', '/', { headers: { 'x-trace-id': traceId } });
  await waitForRequestLog(srv, traceId, 10_000);
  assert.deepEqual(srv.nonJsonLines, [], 'still one JSON object per line');
});

test('hang with a bad ms → 400; unknown actor or fault → 404', T, async () => {
  assertError(await fault('ingest', 'hang'), 400, 'VALIDATION_ERROR');
  assertError(await fault('ingest', 'hang', 0), 400, 'VALIDATION_ERROR');
  assertError(await fault('nobody', 'crash'), 404, 'NOT_FOUND');
  assertError(await fault('ingest', 'explode'), 404, 'NOT_FOUND');
});

test('error-level lines say "error" in their message, and nothing went to stderr', T, async () => {
  const errorLines = srv.logs.filter((l) => l.level === 'error');
  assert.ok(errorLines.length > 0, 'the faults above produced error lines');
  for (const l of errorLines) {
    if (l.message === 'HTTP Request') continue; // found by the runbook through "level":"error"
    assert.match(l.message, /error/i, JSON.stringify(l));
  }
  assert.equal(srv.stderr, '');
});

test('the server still stops gracefully after the faults', T, async () => {
  const code = await srv.stop('SIGTERM');
  assert.equal(code, 0, `exit code; stderr: ${srv.stderr}`);
});
