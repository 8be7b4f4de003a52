// Usage alerts end to end on one service: channels and rules made with the published
// client (@openmeter/sdk), a crossing delivered once per subject and window as a signed
// webhook (checked with the published standardwebhooks library) to a real receiver on
// 127.0.0.1, several thresholds crossed at once, retries after 500 answers with one
// webhook-id, and resend.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, sleep, eventually, uniq, START_TIMEOUT_MS } from '../integration/lib/server.mjs';
import {
  API_KEY, FAST_ALERT_ARGS, client, raw, ok, createMeter, createChannel, createRule, usageEvent, ingest,
  ruleEvents, startReceiver, withReceivers, assertDelivery, webhookIds, summary, newSecret, slugName,
  awayFromUtcMidnight, utcDay,
} from './lib.mjs';

const T = { timeout: 60_000 };

let srv;
let om;

before(async () => {
  srv = await startServer({
    args: ['--api-key', API_KEY, ...FAST_ALERT_ARGS, '--alert-channel-failure-limit', '0'],
  });
  om = client(srv);
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

test('SDK: channel and rule; one signed delivery per subject and window; none below the threshold', T, async () => {
  await awayFromUtcMidnight();
  const receiver = await startReceiver();
  await withReceivers([receiver], async () => {
    const run = uniq('run');
    const slug = slugName('sdk_tokens');
    const eventType = `alerts-sdk-${run}`;
    await om.meters.create({ slug, eventType, aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } });

    // A channel without a secret: the service makes one.
    const channel = await om.notifications.channels.create({
      type: 'WEBHOOK', name: `sdk channel ${run}`, url: receiver.at('/sdk'), customHeaders: { 'x-alert-run': run },
    });
    assert.equal(typeof channel.id, 'string');
    assert.ok(channel.id.length > 0);
    assert.equal(channel.type, 'WEBHOOK');
    assert.equal(channel.name, `sdk channel ${run}`);
    assert.equal(channel.url, receiver.at('/sdk'));
    assert.deepEqual(channel.customHeaders, { 'x-alert-run': run });
    assert.equal(channel.disabled, false);
    assert.match(channel.signingSecret, /^whsec_[A-Za-z0-9+/]+={0,2}$/, 'a generated signing secret');
    assert.ok(channel.createdAt instanceof Date && !Number.isNaN(channel.createdAt.getTime()), 'createdAt');
    assert.ok(channel.updatedAt instanceof Date && !Number.isNaN(channel.updatedAt.getTime()), 'updatedAt');
    receiver.setSecret(channel.signingSecret);
    const got = await om.notifications.channels.get(channel.id);
    assert.equal(got.signingSecret, channel.signingSecret);
    assert.equal(got.url, channel.url);

    const rule = await om.notifications.rules.create({
      type: 'meter.usage.threshold', name: `sdk rule ${run}`, meter: slug, thresholds: [{ value: 100 }],
      window: 'DAY', windowTimeZone: 'UTC', channels: [channel.id],
    });
    assert.equal(typeof rule.id, 'string');
    assert.equal(rule.type, 'meter.usage.threshold');
    assert.equal(rule.name, `sdk rule ${run}`);
    assert.equal(rule.meter, slug);
    assert.equal(rule.window, 'DAY');
    assert.equal(rule.windowTimeZone, 'UTC');
    assert.equal(rule.disabled, false);
    assert.deepEqual(rule.thresholds.map((x) => x.value), [100]);
    assert.deepEqual(rule.channels.map((c) => c.id), [channel.id]);
    assert.ok(rule.createdAt instanceof Date, 'rule createdAt');

    const channels = await om.notifications.channels.list();
    assert.ok(Array.isArray(channels.items), JSON.stringify(channels));
    assert.ok(channels.items.some((c) => c.id === channel.id), 'the channel is listed');
    assert.ok(channels.totalCount >= 1);
    assert.equal(typeof channels.page, 'number');
    assert.equal(typeof channels.pageSize, 'number');
    const rules = await om.notifications.rules.list();
    assert.ok(rules.items.some((r) => r.id === rule.id), 'the rule is listed');
    assert.equal((await om.notifications.rules.get(rule.id)).meter, slug);
    const none = await om.notifications.events.list({ rule: [rule.id] });
    assert.equal(none.totalCount, 0, `no events yet: ${JSON.stringify(none)}`);
    assert.deepEqual(none.items, []);

    // A: 40 + 40 stays below 100; B: 30 + 20 always below.
    const send = (subject, tokens) => om.events.ingest([usageEvent(eventType, subject, tokens)]);
    const sentAt = Date.now();
    await send('A', 40);
    await send('B', 30);
    await send('A', 40);
    await send('B', 20);
    await sleep(1000);
    assert.equal(receiver.requests.length, 0, `nothing before a crossing: ${summary(receiver.requests)}`);

    // The crossing batch: 80 -> 110.
    await send('A', 30);
    const [first] = await receiver.waitFor(() => true, 1, 15_000, 'the delivery of the crossing');
    assertDelivery(first, { ruleId: rule.id, meter: slug, subject: 'A', threshold: 100 });
    assert.equal(first.path, '/sdk');
    assert.equal(first.body.data.value, 110, 'the usage when the crossing was evaluated (nothing was sent since)');
    assert.equal(first.body.data.rule.name, `sdk rule ${run}`);
    const [dayFrom, dayTo] = utcDay(sentAt);
    assert.equal(Date.parse(first.body.data.window.from), dayFrom, `window.from: ${first.body.data.window.from}`);
    assert.equal(Date.parse(first.body.data.window.to), dayTo, `window.to: ${first.body.data.window.to}`);
    assert.equal(first.headers['x-alert-run'], run, 'the channel\'s custom header');

    // More usage for A in the same window, more for B (still below): nothing more.
    await send('A', 50);
    await send('A', 5);
    await send('B', 10); // B at 60
    await sleep(3000);
    assert.equal(receiver.requests.length, 1, `exactly one delivery: ${summary(receiver.requests)}`);
    receiver.assertAllVerified();

    const listed = await eventually(async () => {
      const page = await om.notifications.events.list({ rule: [rule.id] });
      return page.items.length === 1 && page.items[0].deliveryStatus?.[0]?.state === 'SUCCESS' ? page : null;
    }, { timeoutMs: 5000, what: 'the event listed with a SUCCESS delivery' });
    assert.equal(listed.totalCount, 1);
    const ev = listed.items[0];
    assert.equal(ev.id, first.headers['webhook-id']);
    assert.equal(ev.type, 'meter.usage.threshold');
    assert.ok(ev.createdAt instanceof Date);
    assert.equal(ev.rule.id, rule.id);
    assert.equal(ev.deliveryStatus.length, 1);
    const ds = ev.deliveryStatus[0];
    assert.equal(ds.channel.id, channel.id);
    assert.equal(ds.channel.type, 'WEBHOOK');
    assert.equal(ds.attemptCount, 1, JSON.stringify(ds));
    assert.equal(ds.lastStatusCode, 200, JSON.stringify(ds));
    assert.ok(Array.isArray(ds.attempts), JSON.stringify(ds));
    assert.equal(ev.payload.data.subject, 'A');
    assert.equal(ev.payload.data.threshold, 100);
    assert.equal(ev.payload.id, ev.id);
    const one = await om.notifications.events.get(ev.id);
    assert.equal(one.id, ev.id);
    assert.equal(one.deliveryStatus[0].state, 'SUCCESS');
    // Filters: B has no event; A's is found by subject and channel.
    assert.equal((await om.notifications.events.list({ subject: ['B'] })).totalCount, 0);
    assert.ok((await om.notifications.events.list({ subject: ['A'] })).items.some((e) => e.id === ev.id));
    assert.ok((await om.notifications.events.list({ channel: [channel.id] })).items.some((e) => e.id === ev.id));
  });
});

test('two thresholds crossed by one batch: two events, distinct webhook-ids', T, async () => {
  await awayFromUtcMidnight();
  const receiver = await startReceiver({ secret: newSecret() });
  await withReceivers([receiver], async () => {
    const secret = newSecret();
    receiver.setSecret(secret);
    const slug = slugName('two_thr');
    const eventType = uniq('alerts-two');
    await createMeter(srv, slug, eventType);
    const channel = await createChannel(srv, { url: receiver.at('/two'), signingSecret: secret });
    assert.equal(channel.signingSecret, secret, 'the given secret is kept');
    const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 20 }, { value: 10 }], channels: [channel.id] });
    assert.deepEqual(rule.thresholds.map((x) => x.value), [10, 20], 'thresholds ascending');

    await ingest(srv, [usageEvent(eventType, 'S', 15), usageEvent(eventType, 'S', 10)]);
    const got = await receiver.waitFor(() => true, 2, 15_000, 'one delivery per threshold');
    await sleep(2000);
    assert.equal(receiver.requests.length, 2, summary(receiver.requests));
    receiver.assertAllVerified();
    for (const r of got) assertDelivery(r, { ruleId: rule.id, meter: slug, subject: 'S' });
    assert.deepEqual(got.map((r) => r.body.data.threshold).sort((a, b) => a - b), [10, 20]);
    for (const r of got) assert.equal(r.body.data.value, 25);
    assert.equal(webhookIds(got).length, 2, 'distinct webhook-ids');
    const events = await ruleEvents(srv, rule.id);
    assert.deepEqual(events.map((e) => e.id).sort(), webhookIds(got).sort());
  });
});

test('500, 500, then 200: three attempts with one webhook-id, all signed; SUCCESS after 3 attempts', T, async () => {
  await awayFromUtcMidnight();
  const secret = newSecret();
  const receiver = await startReceiver({ secret });
  await withReceivers([receiver], async () => {
    receiver.plan(500, 500);
    const slug = slugName('retry');
    const eventType = uniq('alerts-retry');
    await createMeter(srv, slug, eventType);
    const channel = await createChannel(srv, { url: receiver.at('/retry'), signingSecret: secret });
    const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 5 }], channels: [channel.id] });
    await ingest(srv, [usageEvent(eventType, 'R', 7)]);

    // Retries after about 1 s each (schedule 1s, jittered by +-20%).
    const got = await receiver.waitFor(() => true, 3, 20_000, 'two failed attempts and a successful one');
    assert.deepEqual(got.map((r) => r.answer), [500, 500, 200]);
    assert.equal(webhookIds(got).length, 1, `one webhook-id on every retry: ${summary(got)}`);
    for (const r of got) assertDelivery(r, { ruleId: rule.id, meter: slug, subject: 'R', threshold: 5 });
    assert.equal(got[1].rawBody, got[0].rawBody, 'a retry carries the same body');
    assert.equal(got[2].rawBody, got[0].rawBody, 'a retry carries the same body');
    assert.ok(got[1].time - got[0].time >= 500, `the first retry waited: ${got[1].time - got[0].time} ms`);

    const ds = await eventually(async () => {
      const [ev] = await ruleEvents(srv, rule.id);
      return ev?.deliveryStatus?.[0]?.state === 'SUCCESS' ? ev.deliveryStatus[0] : null;
    }, { timeoutMs: 5000, what: 'the delivery SUCCESS' });
    assert.equal(ds.attemptCount, 3, JSON.stringify(ds));
    assert.equal(ds.lastStatusCode, 200, JSON.stringify(ds));
    await sleep(1500);
    assert.equal(receiver.requests.length, 3, `nothing after the success: ${summary(receiver.requests)}`);
    receiver.assertAllVerified();
  });
});

test('resend: 202, and the receiver gets the same webhook-id again', T, async () => {
  await awayFromUtcMidnight();
  const secret = newSecret();
  const receiver = await startReceiver({ secret });
  await withReceivers([receiver], async () => {
    const slug = slugName('resend');
    const eventType = uniq('alerts-resend');
    await createMeter(srv, slug, eventType);
    const channel = await createChannel(srv, { url: receiver.at('/resend'), signingSecret: secret });
    const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 1 }], channels: [channel.id] });
    await ingest(srv, [usageEvent(eventType, 'X', 3)]);
    const [first] = await receiver.waitFor(() => true, 1, 15_000, 'the first delivery');
    const id = first.headers['webhook-id'];
    await eventually(async () => (await ruleEvents(srv, rule.id))[0]?.deliveryStatus?.[0]?.state === 'SUCCESS',
      { timeoutMs: 5000, what: 'the first delivery recorded as SUCCESS' });

    const r = await raw(srv, 'POST', `/api/v1/notification/events/${encodeURIComponent(id)}/resend`, { body: {} });
    assert.equal(r.status, 202, r.text);
    const got = await receiver.waitFor(() => true, 2, 15_000, 'the resent delivery');
    assert.equal(got[1].headers['webhook-id'], id, 'the resend carries the event id');
    assertDelivery(got[1], { ruleId: rule.id, meter: slug, subject: 'X', threshold: 1 });
    assert.equal(got[1].rawBody, first.rawBody);
    // The SDK's resend too.
    await om.notifications.events.resend(id);
    const again = await receiver.waitFor(() => true, 3, 15_000, 'the resend through the SDK');
    assert.equal(again[2].headers['webhook-id'], id);
    receiver.assertAllVerified();
    const ev = await ok(srv, 'GET', `/api/v1/notification/events/${encodeURIComponent(id)}`, 200);
    assert.equal(ev.id, id);
  });
});
