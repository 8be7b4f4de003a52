// Usage alerts across kill -9: a delivery cut short in flight is made after a restart
// with the same webhook-id, and a crossing acknowledged just before the kill is
// delivered after the restart, once (at least once; any repeat has the same id).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, sleep, eventually, uniq, makeTempDir } from '../integration/lib/server.mjs';
import {
  API_KEY, createMeter, createChannel, createRule, usageEvent, ingest, ruleEvents, startReceiver,
  withReceivers, assertDelivery, webhookIds, summary, newSecret, slugName, awayFromUtcMidnight,
} from './lib.mjs';

after(stopAll);

// The lease of an in-flight claim is twice the attempt timeout and 5 s (45 s
// here): a restarted service must not wait for it to end. The embedded store
// takes the previous process's claims back at its first claim; PostgreSQL's
// claims take those of an instance whose connection is gone within 5 s.
const ATTEMPT_TIMEOUT_MS = 20_000;
const TAKEN_BACK_MS = 15_000;
const AFTER_RESTART_MS = 30_000;
// Retries an hour apart: any delivery seen after the restart is the one the crash
// interrupted (or an unattempted one), never a scheduled retry.
const ARGS = ['--api-key', API_KEY, '--alert-retry-schedule', '1h', '--alert-retry-max-age', '24h',
  '--alert-timeout-ms', String(ATTEMPT_TIMEOUT_MS), '--alert-channel-failure-limit', '0'];

test('kill -9 while an attempt hangs: after a restart the receiver gets it with the same webhook-id', { timeout: 120_000 }, async () => {
  await awayFromUtcMidnight(60_000);
  const secret = newSecret();
  const receiver = await startReceiver({ secret, fallback: 'hang' });
  await withReceivers([receiver], async () => {
    const dataDir = makeTempDir('usage-metrics-alerts-crash-');
    let srv = await startServer({ dataDir, args: ARGS });
    const slug = slugName('crash_hang');
    const eventType = uniq('alerts-crash-hang');
    await createMeter(srv, slug, eventType);
    const channel = await createChannel(srv, { url: receiver.at('/hang'), signingSecret: secret });
    const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 10 }], channels: [channel.id] });
    await ingest(srv, [usageEvent(eventType, 'H', 12)]);
    const [hung] = await receiver.waitFor(() => true, 1, 15_000, 'the first attempt (left hanging)');
    const id = hung.headers['webhook-id'];
    assertDelivery(hung, { ruleId: rule.id, meter: slug, subject: 'H', threshold: 10 });
    await srv.kill9();

    receiver.fallback = 200;
    const restartedAt = Date.now();
    srv = await startServer({ dataDir, args: ARGS });
    const got = await receiver.waitFor((r) => r.answer === 200, 1, TAKEN_BACK_MS,
      'the interrupted delivery after the restart, long before its lease ends');
    console.log(`# the interrupted delivery came ${got[0].time - restartedAt} ms after the restart began`);
    assert.equal(got[0].headers['webhook-id'], id, `the same webhook-id: ${summary(receiver.requests)}`);
    assertDelivery(got[0], { ruleId: rule.id, meter: slug, subject: 'H', threshold: 10 });
    assert.equal(got[0].rawBody, hung.rawBody);
    await eventually(async () => (await ruleEvents(srv, rule.id))[0]?.deliveryStatus?.[0]?.state === 'SUCCESS',
      { timeoutMs: 5000, what: 'SUCCESS after the restart' });
    await sleep(2000);
    assert.deepEqual(webhookIds(receiver.requests), [id], `one event only: ${summary(receiver.requests)}`);
    receiver.assertAllVerified();
    assert.equal((await ruleEvents(srv, rule.id)).length, 1);
    await srv.stop();
  });
});

test('kill -9 right after the crossing was acknowledged: delivered after the restart, one event', { timeout: 120_000 }, async () => {
  await awayFromUtcMidnight(60_000);
  const secret = newSecret();
  const receiver = await startReceiver({ secret });
  await withReceivers([receiver], async () => {
    const dataDir = makeTempDir('usage-metrics-alerts-crash-');
    let srv = await startServer({ dataDir, args: ARGS });
    const slug = slugName('crash_ack');
    const eventType = uniq('alerts-crash-ack');
    await createMeter(srv, slug, eventType);
    const channel = await createChannel(srv, { url: receiver.at('/ack'), signingSecret: secret });
    const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 10 }], channels: [channel.id] });
    await ingest(srv, [usageEvent(eventType, 'K', 4)]);
    await ingest(srv, [usageEvent(eventType, 'K', 8)]); // 12: crosses 10
    await srv.kill9();
    const before = receiver.requests.length; // the first instance may have delivered in time

    srv = await startServer({ dataDir, args: ARGS });
    if (before === 0) {
      await receiver.waitFor(() => true, 1, AFTER_RESTART_MS, 'the crossing acknowledged before the kill, after the restart');
    }
    await eventually(async () => (await ruleEvents(srv, rule.id))[0]?.deliveryStatus?.[0]?.state === 'SUCCESS',
      { timeoutMs: AFTER_RESTART_MS, what: 'the event SUCCESS after the restart' });
    await sleep(2000);
    const ids = webhookIds(receiver.requests);
    assert.equal(ids.length, 1, `exactly one event delivered (repeats only with its id): ${summary(receiver.requests)}`);
    for (const r of receiver.requests) assertDelivery(r, { ruleId: rule.id, meter: slug, subject: 'K', threshold: 10 });
    receiver.assertAllVerified();
    const events = await ruleEvents(srv, rule.id);
    assert.deepEqual(events.map((e) => e.id), ids, 'the one event listed is the one delivered');
    console.log(`# deliveries before the kill: ${before}; in all: ${receiver.requests.length}`);
    await srv.stop();
  });
});
