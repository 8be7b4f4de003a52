// Validation of the notification API: bad channels and rules answer 400 problems and
// create nothing, unknown ids answer 404, a channel a rule uses cannot be deleted; a
// PUT replaces a channel and keeps its secret when none is given.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, uniq, START_TIMEOUT_MS } from '../integration/lib/server.mjs';
import {
  API_KEY, FAST_ALERT_ARGS, client, raw, ok, assertProblem, createMeter, createChannel, createRule, newSecret,
  slugName,
} from './lib.mjs';

const T = { timeout: 30_000 };
const CHANNELS = '/api/v1/notification/channels';
const RULES = '/api/v1/notification/rules';
const EVENTS = '/api/v1/notification/events';
// A well-formed ULID no object has, and a string that is no id at all.
const UNKNOWN_IDS = ['01ARZ3NDEKTSV4RRFFQ69G5FAV', 'no-such-id'];

let srv;
let slug;
let channel;

before(async () => {
  srv = await startServer({ args: ['--api-key', API_KEY, ...FAST_ALERT_ARGS] });
  slug = slugName('val');
  await createMeter(srv, slug, uniq('alerts-val'));
  channel = await createChannel(srv, { url: 'http://127.0.0.1:9/val', signingSecret: newSecret() });
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

async function count(path) {
  return (await ok(srv, 'GET', path, 200)).totalCount;
}

test('bad channels answer 400 problems and create nothing', T, async () => {
  const before = await count(CHANNELS);
  const base = { type: 'WEBHOOK', name: 'bad', url: 'http://127.0.0.1:9/x' };
  const cases = [
    [{ ...base, url: 'ftp://127.0.0.1/x' }, /url/i],
    [{ ...base, url: 'http://' }, /url/i],
    [{ ...base, url: 'http:///path-without-host' }, /url/i],
    [{ ...base, url: 'not a url' }, /url/i],
    [{ ...base, url: undefined }, /url/i],
    [{ ...base, type: 'EMAIL' }, /type/i],
    [{ ...base, type: undefined }, /type/i],
    [{ ...base, name: '' }, /name/i],
    [{ ...base, signingSecret: 'not-a-secret' }, /signingSecret|secret/i],
    [{ ...base, customHeaders: { 'content-type': 'text/plain' } }, /header|content-type/i],
    [{ ...base, customHeaders: { 'webhook-id': 'x' } }, /header|webhook-id/i],
    [{ ...base, customHeaders: { 'x-ok': 'a\r\nx-injected: 1' } }, /header/i],
    [{ ...base, disabled: 'yes' }, /disabled/i],
  ];
  for (const [body, detail] of cases) {
    assertProblem(await raw(srv, 'POST', CHANNELS, { body }), 400, detail, `POST channel ${JSON.stringify(body)}`);
  }
  assertProblem(await raw(srv, 'POST', CHANNELS, { body: '{"type":' }), 400, undefined, 'malformed JSON');
  assert.equal(await count(CHANNELS), before, 'no channel was created');
  // The same checks on PUT, which leaves the channel as it was.
  assertProblem(await raw(srv, 'PUT', `${CHANNELS}/${channel.id}`, { body: { ...base, url: 'ftp://h/x' } }), 400, /url/i);
  assert.equal((await ok(srv, 'GET', `${CHANNELS}/${channel.id}`, 200)).url, channel.url);
});

test('bad rules answer 400 problems (unknown meter and channel too) and create nothing', T, async () => {
  const before = await count(RULES);
  const base = {
    type: 'meter.usage.threshold', name: 'bad', meter: slug, thresholds: [{ value: 10 }], window: 'DAY',
    channels: [channel.id],
  };
  const cases = [
    [{ ...base, window: 'WEEK' }, /window/i],
    [{ ...base, window: 'day' }, /window/i],
    [{ ...base, window: undefined }, /window/i],
    [{ ...base, windowTimeZone: 'Mars/Olympus' }, /windowTimeZone|zone/i],
    [{ ...base, thresholds: [{ value: 0 }] }, /threshold/i],
    [{ ...base, thresholds: [{ value: -5 }] }, /threshold/i],
    [{ ...base, thresholds: [] }, /threshold/i],
    [{ ...base, thresholds: [{ value: 'ten' }] }, /threshold/i],
    [{ ...base, thresholds: undefined }, /threshold/i],
    [{ ...base, type: 'entitlements.balance.threshold' }, /type/i],
    [{ ...base, meter: 'no_such_meter' }, /meter/i],
    [{ ...base, meter: undefined }, /meter/i],
    [{ ...base, channels: [UNKNOWN_IDS[0]] }, /channel/i],
    [{ ...base, channels: [channel.id, 'no-such-channel'] }, /channel/i],
    [{ ...base, channels: [] }, /channel/i],
    [{ ...base, name: '' }, /name/i],
  ];
  for (const [body, detail] of cases) {
    assertProblem(await raw(srv, 'POST', RULES, { body }), 400, detail, `POST rule ${JSON.stringify(body)}`);
  }
  assert.equal(await count(RULES), before, 'no rule was created');
  // The SDK sees the same problem.
  let err;
  try {
    await client(srv).notifications.rules.create({ ...base, meter: 'no_such_meter' });
  } catch (e) {
    err = e;
  }
  assert.equal(err?.status, 400, `SDK error: ${err}`);
});

test('unknown ids answer 404 problems on every route', T, async () => {
  for (const id of UNKNOWN_IDS) {
    const cases = [
      ['GET', `${CHANNELS}/${id}`], ['DELETE', `${CHANNELS}/${id}`],
      ['PUT', `${CHANNELS}/${id}`, { type: 'WEBHOOK', name: 'x', url: 'http://127.0.0.1:9/x' }],
      ['GET', `${RULES}/${id}`], ['DELETE', `${RULES}/${id}`],
      ['PUT', `${RULES}/${id}`, { type: 'meter.usage.threshold', name: 'x', meter: slug, thresholds: [{ value: 1 }], window: 'DAY', channels: [channel.id] }],
      ['GET', `${EVENTS}/${id}`], ['POST', `${EVENTS}/${id}/resend`, {}],
    ];
    for (const [method, path, body] of cases) {
      assertProblem(await raw(srv, method, path, { body }), 404, undefined, `${method} ${path}`);
    }
  }
});

test('a channel a rule uses cannot be deleted (400); after the rule is gone it can (204)', T, async () => {
  const ch = await createChannel(srv, { url: 'http://127.0.0.1:9/used' });
  const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 1 }], channels: [ch.id] });
  assertProblem(await raw(srv, 'DELETE', `${CHANNELS}/${ch.id}`), 400, undefined, 'DELETE a channel in use');
  assert.equal((await ok(srv, 'GET', `${CHANNELS}/${ch.id}`, 200)).id, ch.id, 'the channel is still there');
  const del = await raw(srv, 'DELETE', `${RULES}/${rule.id}`);
  assert.equal(del.status, 204, del.text);
  assertProblem(await raw(srv, 'GET', `${RULES}/${rule.id}`), 404);
  const delCh = await raw(srv, 'DELETE', `${CHANNELS}/${ch.id}`);
  assert.equal(delCh.status, 204, delCh.text);
  assertProblem(await raw(srv, 'GET', `${CHANNELS}/${ch.id}`), 404);
  assertProblem(await raw(srv, 'DELETE', `${CHANNELS}/${ch.id}`), 404);
});

test('PUT replaces a channel and keeps its secret when none is given; a rule PUT replaces it', T, async () => {
  const secret = newSecret();
  const ch = await createChannel(srv, { url: 'http://127.0.0.1:9/put', signingSecret: secret, customHeaders: { 'x-a': '1' } });
  const put = await ok(srv, 'PUT', `${CHANNELS}/${ch.id}`, 200, {
    body: { type: 'WEBHOOK', name: 'renamed', url: 'https://127.0.0.1:9/put2', customHeaders: { 'x-b': '2' } },
  });
  assert.equal(put.id, ch.id);
  assert.equal(put.name, 'renamed');
  assert.equal(put.url, 'https://127.0.0.1:9/put2');
  assert.deepEqual(put.customHeaders, { 'x-b': '2' });
  assert.equal(put.signingSecret, secret, 'the secret is kept');
  assert.ok(Date.parse(put.updatedAt) >= Date.parse(ch.updatedAt));
  assert.equal(put.createdAt, ch.createdAt);

  const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 1 }], channels: [ch.id] });
  const r2 = await ok(srv, 'PUT', `${RULES}/${rule.id}`, 200, {
    body: { type: 'meter.usage.threshold', name: 'monthly', meter: slug, thresholds: [{ value: 5 }], window: 'MONTH',
      windowTimeZone: 'Europe/Berlin', subjects: ['s1'], filterGroupBy: { model: 'm1' }, channels: [ch.id] },
  });
  assert.equal(r2.id, rule.id);
  assert.equal(r2.window, 'MONTH');
  assert.equal(r2.windowTimeZone, 'Europe/Berlin');
  assert.deepEqual(r2.subjects, ['s1']);
  assert.deepEqual(r2.filterGroupBy, { model: 'm1' });
  assert.deepEqual(r2.thresholds.map((t) => t.value), [5]);
  assertProblem(await raw(srv, 'PUT', `${RULES}/${rule.id}`, { body: { ...r2, window: 'YEAR', channels: [ch.id] } }), 400, /window/i);
  assert.equal((await ok(srv, 'GET', `${RULES}/${rule.id}`, 200)).window, 'MONTH');
  assert.equal((await raw(srv, 'DELETE', `${RULES}/${rule.id}`)).status, 204);
});

test('the notification API needs the API key', T, async () => {
  for (const path of [CHANNELS, RULES, EVENTS]) {
    const r = await raw(srv, 'GET', path, { apiKey: null });
    assert.equal(r.status, 401, `${path} without a key: ${r.status} ${r.text}`);
  }
});
