// Usage alerts keep namespaces apart: a rule sees only its namespace's usage, and a
// namespace's channels, rules and events answer 404 to another namespace's key and are
// not in its lists.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, sleep, uniq } from '../integration/lib/server.mjs';
import {
  FAST_ALERT_ARGS, raw, ok, assertProblem, createMeter, createChannel, createRule, usageEvent, ingest,
  ruleEvents, startReceiver, withReceivers, assertDelivery, summary, newSecret, slugName, awayFromUtcMidnight,
} from './lib.mjs';

after(stopAll);

const KA = 'alerts-ns-acme-k1';
const KG = 'alerts-ns-globex-k2';

test('a rule sees only its namespace\'s usage; another namespace\'s alerts objects are 404', { timeout: 60_000 }, async () => {
  await awayFromUtcMidnight();
  const secretA = newSecret();
  const secretG = newSecret();
  const receiver = await startReceiver();
  receiver.setSecret('/acme', secretA);
  receiver.setSecret('/globex', secretG);
  await withReceivers([receiver], async () => {
    const srv = await startServer({
      args: ['--api-key', `acme:${KA}`, '--api-key', `globex:${KG}`, ...FAST_ALERT_ARGS, '--alert-channel-failure-limit', '0'],
    });
    // The same meter (slug and event type) in both namespaces.
    const slug = slugName('ns');
    const eventType = uniq('alerts-ns');
    await createMeter(srv, slug, eventType, { apiKey: KA });
    await createMeter(srv, slug, eventType, { apiKey: KG });
    const chA = await createChannel(srv, { apiKey: KA, url: receiver.at('/acme'), signingSecret: secretA });
    const chG = await createChannel(srv, { apiKey: KG, url: receiver.at('/globex'), signingSecret: secretG });
    const ruleA = await createRule(srv, { apiKey: KA, meter: slug, thresholds: [{ value: 10 }], channels: [chA.id] });
    const ruleG = await createRule(srv, { apiKey: KG, meter: slug, thresholds: [{ value: 60 }], channels: [chG.id] });

    // A rule cannot name another namespace's channel.
    assertProblem(await raw(srv, 'POST', '/api/v1/notification/rules', {
      apiKey: KG,
      body: { type: 'meter.usage.threshold', name: 'x', meter: slug, thresholds: [{ value: 1 }], window: 'DAY', channels: [chA.id] },
    }), 400, /channel/i, 'globex rule naming acme\'s channel');

    // globex: 50 for subject S (below its 60; above acme's 10, which must not see it).
    await ingest(srv, [usageEvent(eventType, 'S', 50)], { apiKey: KG });
    await sleep(2000);
    assert.equal(receiver.requests.length, 0, `another namespace's usage fires nothing: ${summary(receiver.requests)}`);

    // acme: 15 for S. acme crosses 10 with 15 (not 65); globex stays at 50 (65 only if mixed).
    await ingest(srv, [usageEvent(eventType, 'S', 15)], { apiKey: KA });
    const [got] = await receiver.waitFor(() => true, 1, 15_000, 'acme\'s crossing');
    assertDelivery(got, { ruleId: ruleA.id, meter: slug, subject: 'S', threshold: 10 });
    assert.equal(got.path, '/acme');
    assert.equal(got.body.data.value, 15, 'acme\'s usage only');
    await sleep(2000);
    assert.equal(receiver.requests.length, 1, `nothing for globex: ${summary(receiver.requests)}`);
    receiver.assertAllVerified();

    const [evA] = await ruleEvents(srv, ruleA.id, { apiKey: KA });
    assert.equal(evA.id, got.headers['webhook-id']);

    // acme's objects from globex: 404 as unknown ones; lists without them.
    const foreign = [
      ['GET', `/api/v1/notification/channels/${chA.id}`],
      ['PUT', `/api/v1/notification/channels/${chA.id}`, { type: 'WEBHOOK', name: 'stolen', url: receiver.at('/globex') }],
      ['DELETE', `/api/v1/notification/channels/${chA.id}`],
      ['GET', `/api/v1/notification/rules/${ruleA.id}`],
      ['PUT', `/api/v1/notification/rules/${ruleA.id}`, { type: 'meter.usage.threshold', name: 'stolen', meter: slug, thresholds: [{ value: 1 }], window: 'DAY', channels: [chG.id] }],
      ['DELETE', `/api/v1/notification/rules/${ruleA.id}`],
      ['GET', `/api/v1/notification/events/${evA.id}`],
      ['POST', `/api/v1/notification/events/${evA.id}/resend`, {}],
    ];
    for (const [method, path, body] of foreign) {
      assertProblem(await raw(srv, method, path, { apiKey: KG, body }), 404, undefined, `globex ${method} ${path}`);
    }
    const gChannels = await ok(srv, 'GET', '/api/v1/notification/channels', 200, { apiKey: KG });
    assert.deepEqual(gChannels.items.map((c) => c.id), [chG.id]);
    const gRules = await ok(srv, 'GET', '/api/v1/notification/rules', 200, { apiKey: KG });
    assert.deepEqual(gRules.items.map((r) => r.id), [ruleG.id]);
    const gEvents = await ok(srv, 'GET', '/api/v1/notification/events', 200, { apiKey: KG });
    assert.equal(gEvents.totalCount, 0, JSON.stringify(gEvents));
    assert.deepEqual(gEvents.items, []);
    const filtered = await ok(srv, 'GET', `/api/v1/notification/events?rule=${ruleA.id}`, 200, { apiKey: KG });
    assert.equal(filtered.totalCount, 0);
    // acme's are all still there, unchanged by globex's attempts.
    assert.equal((await ok(srv, 'GET', `/api/v1/notification/channels/${chA.id}`, 200, { apiKey: KA })).name, chA.name);
    assert.equal((await ok(srv, 'GET', `/api/v1/notification/rules/${ruleA.id}`, 200, { apiKey: KA })).name, ruleA.name);
    await sleep(500);
    assert.equal(receiver.requests.length, 1, `globex's resend sent nothing: ${summary(receiver.requests)}`);
    await srv.stop();
  });
});
