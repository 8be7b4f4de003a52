// What a rule counts: its subjects and filterGroupBy limit the usage it watches; MONTH
// and TOTAL windows in the webhook body; a void or correction that takes usage below a
// threshold it already reported and back above does not report it again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, sleep, uniq, START_TIMEOUT_MS } from '../integration/lib/server.mjs';
import {
  API_KEY, FAST_ALERT_ARGS, raw, createMeter, createChannel, createRule, usageEvent, ingest, ruleEvents,
  startReceiver, withReceivers, assertDelivery, summary, newSecret, slugName, awayFromUtcMidnight,
} from './lib.mjs';

const T = { timeout: 60_000 };
let srv;

before(async () => {
  srv = await startServer({ args: ['--api-key', API_KEY, ...FAST_ALERT_ARGS, '--alert-channel-failure-limit', '0'] });
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

/** A meter, a receiver and a channel to it; fn gets them and the receiver is closed after. */
async function setup(name, fn) {
  await awayFromUtcMidnight();
  const secret = newSecret();
  const receiver = await startReceiver({ secret });
  await withReceivers([receiver], async () => {
    const slug = slugName(name);
    const eventType = uniq(`alerts-${name}`);
    await createMeter(srv, slug, eventType);
    const channel = await createChannel(srv, { url: receiver.at(`/${name}`), signingSecret: secret });
    await fn({ receiver, slug, eventType, channel });
    receiver.assertAllVerified();
  });
}

test('subjects and filterGroupBy limit the usage a rule watches', T, () => setup('filters', async ({ receiver, slug, eventType, channel }) => {
  const rule = await createRule(srv, {
    meter: slug, thresholds: [{ value: 10 }], subjects: ['watched'], filterGroupBy: { model: 'm2' }, channels: [channel.id],
  });
  assert.deepEqual(rule.subjects, ['watched']);
  assert.deepEqual(rule.filterGroupBy, { model: 'm2' });
  await ingest(srv, [usageEvent(eventType, 'unwatched', 50, { model: 'm2' })]); // another subject
  await ingest(srv, [usageEvent(eventType, 'watched', 50, { model: 'm1' })]); // another model
  await ingest(srv, [usageEvent(eventType, 'watched', 6, { model: 'm2' })]); // 6 of 10
  await sleep(2000);
  assert.equal(receiver.requests.length, 0, `nothing the rule does not watch: ${summary(receiver.requests)}`);
  await ingest(srv, [usageEvent(eventType, 'watched', 5, { model: 'm2' })]); // 11
  const [got] = await receiver.waitFor(() => true, 1, 15_000, 'the crossing of the watched usage');
  assertDelivery(got, { ruleId: rule.id, meter: slug, subject: 'watched', threshold: 10 });
  assert.equal(got.body.data.value, 11, 'only the m2 usage of the watched subject');
  await sleep(1500);
  assert.equal(receiver.requests.length, 1, summary(receiver.requests));
}));

test('MONTH and TOTAL windows in the webhook body', T, () => setup('windows', async ({ receiver, slug, eventType, channel }) => {
  const month = await createRule(srv, { meter: slug, window: 'MONTH', thresholds: [{ value: 5 }], channels: [channel.id] });
  const total = await createRule(srv, { meter: slug, window: 'TOTAL', thresholds: [{ value: 5 }], channels: [channel.id] });
  assert.equal(month.window, 'MONTH');
  assert.equal(total.window, 'TOTAL');
  const sentAt = new Date();
  await ingest(srv, [usageEvent(eventType, 'W', 7)]);
  const got = await receiver.waitFor(() => true, 2, 15_000, 'one delivery per rule');
  const byRule = new Map(got.map((r) => [r.body.data.rule.id, r]));
  const m = byRule.get(month.id);
  const t = byRule.get(total.id);
  assert.ok(m && t, summary(got));
  assertDelivery(m, { ruleId: month.id, meter: slug, subject: 'W', threshold: 5 });
  assertDelivery(t, { ruleId: total.id, meter: slug, subject: 'W', threshold: 5 });
  const monthFrom = Date.UTC(sentAt.getUTCFullYear(), sentAt.getUTCMonth(), 1);
  const monthTo = Date.UTC(sentAt.getUTCFullYear(), sentAt.getUTCMonth() + 1, 1);
  assert.equal(Date.parse(m.body.data.window.from), monthFrom, `MONTH from: ${m.rawBody}`);
  assert.equal(Date.parse(m.body.data.window.to), monthTo, `MONTH to: ${m.rawBody}`);
  assert.equal(t.body.data.window.to, null, `TOTAL has no end: ${t.rawBody}`);
  assert.ok(Date.parse(t.body.data.window.from) <= Date.parse('1971-01-01T00:00:00Z'), `TOTAL from: ${t.rawBody}`);
}));

test('a void or a correction never re-fires a reported threshold', T, () => setup('voids', async ({ receiver, slug, eventType, channel }) => {
  const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 10 }], channels: [channel.id] });
  const first = usageEvent(eventType, 'V', 12);
  await ingest(srv, [first]);
  const [got] = await receiver.waitFor(() => true, 1, 15_000, 'the first crossing');
  assertDelivery(got, { ruleId: rule.id, meter: slug, subject: 'V', threshold: 10 });

  // Void it (usage 0), then cross again with new usage.
  const del = await raw(srv, 'DELETE', `/api/v1/events?source=${encodeURIComponent(first.source)}&id=${encodeURIComponent(first.id)}`);
  assert.equal(del.status, 204, del.text);
  await ingest(srv, [usageEvent(eventType, 'V', 4)]);
  const second = usageEvent(eventType, 'V', 8);
  await ingest(srv, [second]); // 12 again
  // Correct an event down (usage 4 + 1) and back up above the threshold (4 + 20).
  for (const tokens of [1, 20]) {
    const put = await raw(srv, 'PUT', '/api/v1/events', {
      body: { ...second, data: { ...second.data, tokens } }, headers: { 'content-type': 'application/cloudevents+json' },
    });
    assert.equal(put.status, 204, put.text);
  }
  await sleep(3000);
  assert.equal(receiver.requests.length, 1, `one delivery only: ${summary(receiver.requests)}`);
  assert.equal((await ruleEvents(srv, rule.id)).length, 1, 'one event only');
}));
