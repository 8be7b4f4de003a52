// Helpers of the metering API tests: the published client against the real
// binary, and an independent reference computation of every meter query.
//
// The server is started with tests/integration/lib/server.mjs (SQLite, or
// PostgreSQL with USAGE_METRICS_BACKEND=postgres). Expected numbers never come
// from the server: they are computed here from the events a test sent.

import assert from 'node:assert/strict';
import { OpenMeter } from '@openmeter/sdk';
import { sleep } from '../integration/lib/server.mjs';

export const API_KEY = 'metering-test-key';

/** The published client, pointed at a server started by startServer(). */
export function client(server, apiKey = API_KEY) {
  return new OpenMeter({ baseUrl: server.baseUrl, apiKey });
}

/**
 * Calls fn until it does not fail with 503 (a meter still back-filling), for at most
 * timeoutMs. The first answer that is not a 503 is returned (or its error thrown):
 * a number is never taken from a retry loop that polls for the value.
 */
export async function retry503(fn, { timeoutMs = 10_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (err?.status !== 503 || Date.now() >= deadline) throw err;
      await sleep(100);
    }
  }
}

/** fetch with the API key; returns {status, headers, text, json}. */
export async function raw(server, method, path, { body, headers = {}, apiKey = API_KEY } = {}) {
  const h = { ...headers };
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  }
  const res = await fetch(`${server.baseUrl}${path}`, {
    method, headers: h, body: payload, signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

/** Asserts an RFC 7807 problem answer with the given status (raw() result). */
export function assertProblem(res, status, detailPattern) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json\b/,
    `content-type of a ${status}: ${res.headers.get('content-type')}`);
  const p = res.json;
  assert.ok(p && typeof p === 'object', `problem body is JSON: ${res.text}`);
  assert.equal(typeof p.type, 'string', `type: ${res.text}`);
  assert.ok(p.type.length > 0);
  assert.equal(typeof p.title, 'string', `title: ${res.text}`);
  assert.ok(p.title.length > 0);
  assert.equal(p.status, status, `status field: ${res.text}`);
  assert.equal(typeof p.detail, 'string', `detail: ${res.text}`);
  assert.ok(p.detail.length > 0);
  if (detailPattern) assert.match(p.detail, detailPattern);
  assert.ok(res.headers.get('x-trace-id'), 'x-trace-id header on a problem answer');
}

/** Awaits a promise expected to reject with the SDK's HTTPError of this status. */
export async function sdkRejects(promise, status, detailPattern) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected the SDK call to fail with ${status}, it succeeded`);
  assert.equal(err.name, 'HTTPError', `SDK error: ${err?.stack ?? err}`);
  assert.equal(err.status, status, err.message);
  // The SDK reads type/title/detail only from an exact `application/problem+json`.
  const problem = err.getField?.('detail') !== undefined;
  assert.ok(problem, `the SDK did not see a problem+json body: ${err.message}`);
  assert.equal(typeof err.type, 'string');
  assert.equal(typeof err.title, 'string');
  assert.equal(err.getField('status'), status);
  if (detailPattern) assert.match(err.getField('detail'), detailPattern);
  return err;
}

// ------------------------------------------------------------------ time zones

const fmtCache = new Map();
function zoneParts(t, tz) {
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    fmtCache.set(tz, f);
  }
  const p = {};
  for (const { type, value } of f.formatToParts(new Date(t))) p[type] = Number(value);
  return p;
}

/** Offset of `tz` from UTC at instant t, in ms (Berlin summer: +7200000). */
export function zoneOffset(t, tz) {
  const p = zoneParts(t, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/** The instant of local midnight of y-m-d (month 1-12, overflow allowed) in tz. */
export function localMidnight(y, m, d, tz) {
  const guess = Date.UTC(y, m - 1, d);
  let t = guess - zoneOffset(guess, tz);
  t = guess - zoneOffset(t, tz);
  return t;
}

/** [start, end) of the tumbling window of `size` in `tz` that holds instant t. */
export function windowOf(t, size, tz = 'UTC') {
  const off = zoneOffset(t, tz);
  const local = t + off;
  switch (size) {
    case 'MINUTE':
    case 'HOUR': {
      const len = size === 'MINUTE' ? 60_000 : 3_600_000;
      const start = t - (((local % len) + len) % len);
      return [start, start + len];
    }
    case 'DAY': {
      const p = zoneParts(t, tz);
      return [localMidnight(p.year, p.month, p.day, tz), localMidnight(p.year, p.month, p.day + 1, tz)];
    }
    case 'MONTH': {
      const p = zoneParts(t, tz);
      return [localMidnight(p.year, p.month, 1, tz), localMidnight(p.year, p.month + 1, 1, tz)];
    }
    default:
      throw new Error(`window size ${size}`);
  }
}

// ------------------------------------------------------------------ reference

/** `$.a.b` into data; undefined when absent. */
export function jsonPath(data, path) {
  assert.match(path, /^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$/, `reference supports only $.a.b paths: ${path}`);
  let v = data;
  for (const k of path.slice(2).split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !(k in v)) return undefined;
    v = v[k];
  }
  return v;
}

export function numericValue(v) {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

const sec = (ms) => Math.floor(ms / 1000);

/**
 * The rows a meter query must answer, computed from `stored`: the events the server
 * holds, each {event (as sent, time a Date), seq (storage order)}.
 * q: {from, to (Date), windowSize, windowTimeZone, subject[], groupBy[], filterGroupBy{}}.
 * Returns rows {value, windowStart, windowEnd (ms), subject, groupBy}.
 */
export function expectedRows(stored, meter, q) {
  const tz = q.windowTimeZone ?? 'UTC';
  const subjects = q.subject ?? [];
  const groupBy = q.groupBy ?? [];
  // As OpenMeter: a subject filter also groups by subject.
  const bySubject = groupBy.includes('subject') || subjects.length > 0;
  const keys = groupBy.filter((k) => k !== 'subject');
  const from = q.from.getTime();
  const to = q.to.getTime();
  const groups = new Map();
  for (const { event, seq } of stored) {
    if (event.type !== meter.eventType) continue;
    const t = event.time.getTime();
    if (meter.eventFrom && t < meter.eventFrom.getTime()) continue;
    if (sec(t) < sec(from) || sec(t) >= sec(to)) continue;
    if (subjects.length && !subjects.includes(event.subject)) continue;
    const groupValue = (k) => {
      const v = jsonPath(event.data ?? {}, meter.groupBy[k]);
      return typeof v === 'string' ? v : v === undefined || v === null ? null : String(v);
    };
    let filtered = false;
    for (const [k, v] of Object.entries(q.filterGroupBy ?? {})) {
      const wanted = Array.isArray(v) ? v : [v];
      if (!wanted.includes(groupValue(k))) filtered = true;
    }
    if (filtered) continue;
    let value;
    if (meter.aggregation === 'COUNT') {
      value = 1;
    } else if (meter.aggregation === 'UNIQUE_COUNT') {
      value = jsonPath(event.data ?? {}, meter.valueProperty);
      if (typeof value !== 'string') continue;
    } else {
      value = numericValue(jsonPath(event.data ?? {}, meter.valueProperty));
      if (value === undefined) continue;
    }
    const [ws, we] = q.windowSize ? windowOf(t, q.windowSize, tz) : [from, to];
    const gb = {};
    for (const k of keys) gb[k] = groupValue(k);
    const subject = bySubject ? event.subject : null;
    const key = rowKey({ windowStart: ws, windowEnd: we, subject, groupBy: gb });
    if (!groups.has(key)) groups.set(key, { windowStart: ws, windowEnd: we, subject, groupBy: gb, items: [] });
    groups.get(key).items.push({ value, t, seq });
  }
  const rows = [];
  for (const g of groups.values()) {
    const vals = g.items.map((i) => i.value);
    let value;
    switch (meter.aggregation) {
      case 'SUM': value = vals.reduce((a, b) => a + b, 0); break;
      case 'COUNT': value = vals.length; break;
      case 'UNIQUE_COUNT': value = new Set(vals).size; break;
      case 'AVG': value = vals.reduce((a, b) => a + b, 0) / vals.length; break;
      case 'MIN': value = Math.min(...vals); break;
      case 'MAX': value = Math.max(...vals); break;
      case 'LATEST': {
        const last = g.items.reduce((a, b) => (b.t > a.t || (b.t === a.t && b.seq > a.seq) ? b : a));
        value = last.value;
        break;
      }
      default: throw new Error(meter.aggregation);
    }
    rows.push({ value, windowStart: g.windowStart, windowEnd: g.windowEnd, subject: g.subject, groupBy: g.groupBy });
  }
  return rows;
}

function rowKey(r) {
  const gb = Object.keys(r.groupBy).sort().map((k) => [k, r.groupBy[k]]);
  return `${new Date(r.windowStart).toISOString()}..${new Date(r.windowEnd).toISOString()} subject=${r.subject} ${JSON.stringify(gb)}`;
}

const close = (a, b) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * Compares the rows the server answered (SDK-decoded: Date windows) with the expected
 * rows; `label` names the query in the failure message. With a single subject filter
 * and no groupBy=subject a row's subject may be that subject or null.
 */
export function assertRows(actual, expected, label, q = {}) {
  const lone = (q.subject ?? []).length === 1 && !(q.groupBy ?? []).includes('subject') ? q.subject[0] : undefined;
  const problems = [];
  const got = new Map();
  for (const r of actual) {
    const ws = r.windowStart instanceof Date ? r.windowStart.getTime() : Date.parse(r.windowStart);
    const we = r.windowEnd instanceof Date ? r.windowEnd.getTime() : Date.parse(r.windowEnd);
    if (typeof r.value !== 'number') problems.push(`value is not a number: ${JSON.stringify(r)}`);
    if (!r.groupBy || typeof r.groupBy !== 'object') problems.push(`groupBy is not an object: ${JSON.stringify(r)}`);
    const subject = lone !== undefined && r.subject === null ? lone : r.subject;
    const k = rowKey({ windowStart: ws, windowEnd: we, subject, groupBy: r.groupBy ?? {} });
    if (got.has(k)) problems.push(`duplicate row ${k}`);
    got.set(k, r.value);
  }
  const want = new Map(expected.map((r) => [rowKey(r), r.value]));
  for (const [k, v] of want) {
    if (!got.has(k)) problems.push(`missing row ${k} (expected value ${v})`);
    else if (!close(got.get(k), v)) problems.push(`row ${k}: value ${got.get(k)}, expected ${v}`);
  }
  for (const [k, v] of got) if (!want.has(k)) problems.push(`unexpected row ${k} (value ${v})`);
  assert.ok(problems.length === 0,
    `${label}: ${problems.length} problem(s) in ${actual.length} rows (expected ${expected.length}):\n  ${problems.slice(0, 15).join('\n  ')}`);
}

// ------------------------------------------------------------------ data

/** A small seeded PRNG (mulberry32), so a failure reproduces. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (arr) => arr[next.int(arr.length)];
  next.shuffle = (arr) => {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = next.int(i + 1);
      [arr[i], arr[j]] = [arr[j], arr[i]];
    }
    return arr;
  };
  return next;
}

/**
 * Keeps the events the server must hold, in storage order: ingest() sends a batch
 * with the SDK and records every (source, id) not seen before.
 */
export class Ledger {
  constructor(om) {
    this.om = om;
    this.stored = [];
    this.keys = new Set();
    this.seq = 0;
  }

  async ingest(events) {
    await this.om.events.ingest(events);
    this.record(events);
  }

  record(events) {
    for (const e of events) {
      const k = `${e.source}\u0000${e.id}`;
      if (this.keys.has(k)) continue;
      this.keys.add(k);
      this.stored.push({ event: e, seq: this.seq++ });
    }
  }
}
