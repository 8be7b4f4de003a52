// What the failure tests (resilience, faults, overload, storage faults, restarts,
// PostgreSQL outages and scale-out) judge in the same way, written once:
//  - whether an answer is an acknowledgement, a proper refusal (503 with Retry-After and
//    the contract body) or a proper timeout (504 TIMEOUT), and why not;
//  - that every acknowledged write is stored exactly once and the usage rollup agrees.

import assert from 'node:assert/strict';
import { api, errorShapeProblem, listAllEvents } from './server.mjs';

/** A header of an api() answer (fetch Headers) or of a keepAliveClient() answer (object). */
export function header(r, name) {
  if (!r.headers) return undefined;
  return typeof r.headers.get === 'function' ? r.headers.get(name) ?? undefined : r.headers[name];
}

/** A write is acknowledged: 201 stored now, or 200 stored before (same client id). */
export const isAck = (r) => r.status === 200 || r.status === 201;

/**
 * Why a refused or failed answer is not what the contract promises, or '' when it is:
 * a 503 SERVICE_UNAVAILABLE with Retry-After, or (only where `allow504` says a timeout
 * may happen) a 504 TIMEOUT, each with the contract's error body. Anything else
 * (another status, or no HTTP answer at all, status 0) is a problem.
 */
export function refusalProblem(r, { allow504 = false } = {}) {
  if (r.status === 0) return `no HTTP answer: ${r.error}`;
  if (r.status === 503) {
    if (!header(r, 'retry-after')) return '503 without Retry-After';
    const shape = errorShapeProblem(r.json, 'SERVICE_UNAVAILABLE');
    return shape ? `503 body: ${shape}` : '';
  }
  if (r.status === 504) {
    if (!allow504) return '504 where no timeout was expected';
    const shape = errorShapeProblem(r.json, 'TIMEOUT');
    return shape ? `504 body: ${shape}` : '';
  }
  return `status ${r.status}: ${(r.text ?? '').slice(0, 300)}`;
}

/** Asserts a proper 503: contract body, SERVICE_UNAVAILABLE, Retry-After. */
export function assert503(r, what) {
  assert.equal(r.status, 503, `${what}: expected 503, got ${r.status} ${r.error ?? r.text}`);
  assert.equal(refusalProblem(r), '', `${what}: ${r.text}`);
}

const ALL_TIME = new URLSearchParams({
  since: '1970-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z',
}).toString();

/**
 * Asserts what durability means for one entity after faults: every acknowledged id is
 * stored, none twice, none that was never sent (when `sent` is given), the listing's
 * total counts them, and the usage rollup counts exactly the stored events (when
 * `eventType` is given, also by that type). Returns the set of stored ids.
 *
 *   acked  ids (Set, array or Map keys) answered 200/201
 *   sent   every id sent, acknowledged or not (optional)
 */
export async function assertStoredExactlyOnce(server, entityId, {
  acked, sent, eventType, label = entityId, timeoutMs = 10_000,
}) {
  const { events, total } = await listAllEvents(server, entityId, { timeoutMs });
  const ids = events.map((e) => e.id);
  const stored = new Set(ids);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(twice, [], `${label}: ids stored twice`);
  assert.equal(total, ids.length, `${label}: pagination.total equals the events listed`);
  const ackedIds = acked instanceof Map ? [...acked.keys()] : [...acked];
  const lost = ackedIds.filter((id) => !stored.has(id));
  assert.deepEqual(lost, [], `${label}: acknowledged but not stored (${ackedIds.length} acknowledged)`);
  if (sent) {
    const known = sent instanceof Map ? sent : new Set(sent);
    const phantom = ids.filter((id) => !known.has(id));
    assert.deepEqual(phantom, [], `${label}: stored ids that were never sent`);
  }
  const usage = await api(server, 'GET', `/v1/usage/${encodeURIComponent(entityId)}?${ALL_TIME}`, { timeoutMs });
  assert.equal(usage.status, 200, `${label}: usage: ${usage.text}`);
  assert.equal(usage.json.data.totalEvents, stored.size, `${label}: the usage rollup counts the stored events`);
  if (eventType !== undefined) {
    assert.equal(usage.json.data.byEventType[eventType] ?? 0, stored.size,
      `${label}: the usage rollup of ${eventType} counts the stored events`);
  }
  return stored;
}
