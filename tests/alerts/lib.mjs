// Helpers of the usage-alert tests: the published client against the real binary,
// plain HTTP with an API key, and a real local webhook receiver that checks every
// delivery's signature with the published Standard Webhooks library.
//
// The server is started with tests/integration/lib/server.mjs (SQLite, or
// PostgreSQL with USAGE_METRICS_BACKEND=postgres). Every receiver listens on
// 127.0.0.1 only; nothing here talks to another host.

import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { OpenMeter } from '@openmeter/sdk';
import { Webhook } from 'standardwebhooks';
import { sleep, uniq } from '../integration/lib/server.mjs';

export const API_KEY = 'alerts-test-key';

/** The counter of channels disabled after too many failed attempts in a row (/metrics). */
export const CHANNELS_DISABLED_METRIC = 'usage_notification_channels_disabled_total';

/** The service flags every alert test starts with: quick retries and timeouts. */
export const FAST_ALERT_ARGS = [
  '--alert-retry-schedule', '1s',
  '--alert-retry-max-age', '1m',
  '--alert-timeout-ms', '1500',
];

/** The published client, pointed at a server started by startServer(). */
export function client(server, apiKey = API_KEY) {
  return new OpenMeter({ baseUrl: server.baseUrl, apiKey });
}

/** fetch with the API key; returns {status, headers, text, json, ms}. */
export async function raw(server, method, path, { body, headers = {}, apiKey = API_KEY, timeoutMs = 10_000 } = {}) {
  const h = { ...headers };
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  }
  const began = performance.now();
  const res = await fetch(`${server.baseUrl}${path}`, {
    method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  const ms = performance.now() - began;
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json, ms };
}

/** raw() that must answer `status`; returns the JSON body. */
export async function ok(server, method, path, status, opts = {}) {
  const r = await raw(server, method, path, opts);
  assert.equal(r.status, status, `${method} ${path}: expected ${status}, got ${r.status}: ${r.text}`);
  return r.json;
}

/** Asserts an RFC 7807 problem answer with the given status (raw() result). */
export function assertProblem(res, status, detailPattern, label = '') {
  const what = label ? `${label}: ` : '';
  assert.equal(res.status, status, `${what}expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json\b/,
    `${what}content-type of a ${status}: ${res.headers.get('content-type')}`);
  const p = res.json;
  assert.ok(p && typeof p === 'object', `${what}problem body is JSON: ${res.text}`);
  assert.equal(typeof p.type, 'string', `${what}type: ${res.text}`);
  assert.equal(typeof p.title, 'string', `${what}title: ${res.text}`);
  assert.equal(p.status, status, `${what}status field: ${res.text}`);
  assert.equal(typeof p.detail, 'string', `${what}detail: ${res.text}`);
  assert.ok(p.detail.length > 0, `${what}empty detail`);
  if (detailPattern) assert.match(p.detail, detailPattern, `${what}detail: ${res.text}`);
}

/** A fresh Standard Webhooks secret: `whsec_` and base64 of 24 random bytes. */
export function newSecret() {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** A slug-safe unique name (meter slugs allow [a-z0-9_]). */
export function slugName(prefix) {
  return uniq(prefix).replace(/-/g, '_').toLowerCase();
}

// ------------------------------------------------------------------ meters and usage

/** Creates a SUM meter of `$.tokens` (group by `$.model`) for `eventType`; returns it. */
export async function createMeter(server, slug, eventType, { apiKey = API_KEY } = {}) {
  return ok(server, 'POST', '/api/v1/meters', 201, {
    apiKey,
    body: { slug, eventType, aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } },
  });
}

let eventSeq = 0;

/** A CloudEvent of `tokens` for `subject`, timed now (the rules' windows hold now). */
export function usageEvent(eventType, subject, tokens, data = {}) {
  eventSeq += 1;
  return {
    specversion: '1.0', id: `alert-${process.pid}-${eventSeq}-${randomBytes(3).toString('hex')}`,
    source: 'alerts-test', type: eventType, subject, time: new Date().toISOString(),
    data: { tokens, model: 'm1', ...data },
  };
}

/** POSTs a CloudEvents batch to /api/v1/events and asserts 204; returns the raw() result. */
export async function ingest(server, events, { apiKey = API_KEY, timeoutMs } = {}) {
  const r = await raw(server, 'POST', '/api/v1/events', {
    apiKey, timeoutMs, body: events, headers: { 'content-type': 'application/cloudevents-batch+json' },
  });
  assert.equal(r.status, 204, `ingest of ${events.length} event(s) on :${server.port}: ${r.status} ${r.text}`);
  return r;
}

/** Creates a WEBHOOK channel with the raw API; returns the channel JSON. */
export async function createChannel(server, { apiKey = API_KEY, ...fields }) {
  return ok(server, 'POST', '/api/v1/notification/channels', 201, {
    apiKey, body: { type: 'WEBHOOK', name: uniq('channel'), ...fields },
  });
}

/** Creates a meter.usage.threshold rule with the raw API; returns the rule JSON. */
export async function createRule(server, { apiKey = API_KEY, ...fields }) {
  return ok(server, 'POST', '/api/v1/notification/rules', 201, {
    apiKey,
    body: { type: 'meter.usage.threshold', name: uniq('rule'), window: 'DAY', windowTimeZone: 'UTC', ...fields },
  });
}

/** The alert events of a rule (GET /api/v1/notification/events?rule=...), the items. */
export async function ruleEvents(server, ruleId, { apiKey = API_KEY } = {}) {
  const page = await ok(server, 'GET', `/api/v1/notification/events?rule=${encodeURIComponent(ruleId)}`, 200, { apiKey });
  assert.ok(Array.isArray(page?.items), `events page: ${JSON.stringify(page)}`);
  return page.items;
}

/**
 * Waits until less than `marginMs` of the current UTC day is left to pass no longer,
 * so that the usage a test sends and the DAY window the server evaluates are in one
 * day (a run straddling midnight UTC would split them).
 */
export async function awayFromUtcMidnight(marginMs = 20_000) {
  const now = Date.now();
  const next = Math.ceil(now / 86_400_000) * 86_400_000;
  if (next - now < marginMs) await sleep(next - now + 1000);
}

/** The UTC day [from, to) holding instant t, in ms. */
export function utcDay(t) {
  const from = Math.floor(t / 86_400_000) * 86_400_000;
  return [from, from + 86_400_000];
}

/** The value of a counter or gauge (no labels) in a Prometheus text exposition. */
export function metricValue(text, name) {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([-+0-9.eE]+|NaN)\\s*$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

// ------------------------------------------------------------------ the webhook receiver

/**
 * Starts a webhook receiver on 127.0.0.1 (a free port). Every request is recorded as
 * {method, path, headers (lower-case), rawBody (string), body (parsed or undefined),
 * time (ms), answer (what it was answered), verified, verifyError}; its signature is
 * checked at arrival with `new Webhook(secret).verify(rawBody, headers)` from the
 * published `standardwebhooks` package, with the secret set for its path (setSecret)
 * or for every path (the `secret` option / setSecret(secret)).
 *
 * What a request is answered is scripted: plan(...answers) queues answers used one per
 * request (in order of arrival), then `fallback` (default 200) for every later one. An
 * answer is a status code (a number), 'hang' (never answered: the connection stays
 * open until the receiver closes or the client gives up), or 'destroy' (the connection
 * is closed without an answer).
 */
export async function startReceiver({ secret, fallback = 200 } = {}) {
  const requests = [];
  const secrets = new Map();
  const hanging = new Set();
  const sockets = new Set();
  const waiters = new Set();
  const plan = [];
  const rec = {
    requests,
    fallback,
    hanging,
    url: '',
    port: 0,
  };
  if (secret) secrets.set('*', secret);

  const notify = () => {
    for (const w of [...waiters]) {
      const matching = requests.filter(w.pred);
      if (matching.length >= w.count) {
        waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(matching);
      }
    }
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url, 'http://x').pathname;
      const entry = {
        method: req.method, path, headers: { ...req.headers }, rawBody, body: undefined,
        time: Date.now(), answer: undefined, verified: false, verifyError: undefined,
      };
      try { entry.body = JSON.parse(rawBody); } catch { /* recorded as not JSON */ }
      const key = secrets.get(path) ?? secrets.get('*');
      if (!key) {
        entry.verifyError = `no secret set for ${path}`;
      } else {
        try {
          new Webhook(key).verify(rawBody, req.headers);
          entry.verified = true;
        } catch (err) {
          entry.verifyError = `${err.name}: ${err.message}`;
        }
      }
      const answer = plan.length ? plan.shift() : rec.fallback;
      entry.answer = answer;
      requests.push(entry);
      if (answer === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
      } else if (answer === 'destroy') {
        req.socket.destroy();
      } else {
        res.writeHead(answer, { 'content-type': 'text/plain' });
        res.end(answer >= 200 && answer < 300 ? 'ok' : `receiver answers ${answer}`);
      }
      notify();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  rec.port = server.address().port;
  rec.url = `http://127.0.0.1:${rec.port}`;

  /** The URL of a path of this receiver (`/hook` by default). */
  rec.at = (path = '/hook') => `${rec.url}${path}`;
  /** Sets the secret that verifies requests to `path` (or to every path: one argument). */
  rec.setSecret = (pathOrSecret, maybeSecret) => {
    if (maybeSecret === undefined) secrets.set('*', pathOrSecret);
    else secrets.set(pathOrSecret, maybeSecret);
  };
  rec.plan = (...answers) => { plan.push(...answers); };
  /** Requests matching pred (default: all). */
  rec.matching = (pred = () => true) => requests.filter(pred);
  /** Resolves with the matching requests once there are `count` of them; fails after timeoutMs. */
  rec.waitFor = (pred, count = 1, timeoutMs = 15_000, what = 'webhook requests') => new Promise((resolve, reject) => {
    const w = { pred, count, resolve };
    w.timer = setTimeout(() => {
      waiters.delete(w);
      reject(new Error(`receiver :${rec.port}: ${what}: expected ${count} within ${timeoutMs} ms, got `
        + `${requests.filter(pred).length} (all ${requests.length}: ${summary(requests)})`));
    }, timeoutMs);
    waiters.add(w);
    notify();
  });
  /** Answers every hanging request with `status` (default 200). */
  rec.release = (status = 200) => {
    for (const res of [...hanging]) {
      try { res.writeHead(status); res.end(); } catch { /* the client went away */ }
      hanging.delete(res);
    }
  };
  /** Asserts that every request so far carried a valid signature. */
  rec.assertAllVerified = () => {
    const bad = requests.filter((r) => !r.verified);
    assert.equal(bad.length, 0,
      `${bad.length} of ${requests.length} deliveries did not verify: ${bad.map((r) => `${r.path} ${r.headers['webhook-id']}: ${r.verifyError}`).join('; ')}`);
  };
  rec.close = async () => {
    for (const w of waiters) clearTimeout(w.timer);
    waiters.clear();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(() => resolve()));
  };
  return rec;
}

/** A short text of the requests a receiver got, for failure messages. */
export function summary(requests) {
  return requests.map((r) => `${r.path} id=${r.headers['webhook-id']} subject=${r.body?.data?.subject} `
    + `threshold=${r.body?.data?.threshold} answer=${r.answer}`).join(' | ') || 'none';
}

/** The distinct webhook-id headers of some requests, in order of first arrival. */
export function webhookIds(requests) {
  return [...new Set(requests.map((r) => r.headers['webhook-id']))];
}

/** Checks the parts of a delivery every test expects: headers, body shape, signature. */
export function assertDelivery(r, { ruleId, meter, subject, threshold }) {
  assert.ok(r.verified, `signature of ${r.headers['webhook-id']}: ${r.verifyError}`);
  assert.equal(r.method, 'POST');
  assert.match(r.headers['content-type'] ?? '', /^application\/json\b/, 'content-type of a delivery');
  const id = r.headers['webhook-id'];
  assert.ok(id, 'webhook-id header');
  assert.match(r.headers['webhook-timestamp'] ?? '', /^\d+$/, 'webhook-timestamp is whole seconds');
  assert.ok(Math.abs(Number(r.headers['webhook-timestamp']) * 1000 - r.time) < 60_000, 'webhook-timestamp is now');
  assert.match(r.headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/]+={0,2}( |$)/, 'webhook-signature v1,<base64>');
  const b = r.body;
  assert.ok(b && typeof b === 'object', `body is JSON: ${r.rawBody}`);
  assert.equal(b.id, id, 'body id is the webhook-id');
  assert.equal(b.type, 'meter.usage.threshold');
  assert.equal(typeof b.timestamp, 'string');
  assert.ok(!Number.isNaN(Date.parse(b.timestamp)), `timestamp: ${b.timestamp}`);
  assert.ok(b.data && typeof b.data === 'object', `data: ${r.rawBody}`);
  if (ruleId !== undefined) assert.equal(b.data.rule?.id, ruleId, `data.rule: ${JSON.stringify(b.data.rule)}`);
  assert.equal(typeof b.data.rule?.name, 'string');
  if (meter !== undefined) assert.equal(b.data.meter, meter);
  if (subject !== undefined) assert.equal(b.data.subject, subject);
  if (threshold !== undefined) assert.equal(b.data.threshold, threshold);
  assert.equal(typeof b.data.value, 'number');
  assert.ok(b.data.value >= b.data.threshold, `value ${b.data.value} >= threshold ${b.data.threshold}`);
  assert.ok(b.data.window && typeof b.data.window === 'object', `window: ${r.rawBody}`);
}

/** Runs fn with every receiver given closed afterwards, whatever happens. */
export async function withReceivers(receivers, fn) {
  try {
    return await fn();
  } finally {
    await Promise.all(receivers.map((r) => r?.close().catch(() => {})));
  }
}
