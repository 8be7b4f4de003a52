// Usage alerts with two instances on one PostgreSQL database: rules made on one, usage
// sent to both (each subject's crossing needs the usage of both), and every event is
// delivered by exactly one instance, once (the receiver always answers 200).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  backend, startServer, stopAll, sleep, eventually, uniq, makeTempDir, databaseUrlFor, cannotRunInCi,
} from '../integration/lib/server.mjs';
import {
  API_KEY, FAST_ALERT_ARGS, ok, createMeter, createChannel, createRule, usageEvent, ingest, startReceiver,
  withReceivers, assertDelivery, webhookIds, summary, newSecret, slugName, awayFromUtcMidnight,
} from './lib.mjs';

after(stopAll);

// Skipped on the embedded stores, which one process holds: alerts_pg.sdk runs it.
const skip = backend !== 'postgres' && cannotRunInCi(
  `two instances need one shared PostgreSQL database, and this run's backend is ${backend} `
  + '(alerts_pg.sdk runs it with USAGE_METRICS_BACKEND=postgres)');

const SUBJECTS = 12;

test('two instances on one database: each event delivered once, by one instance', { skip, timeout: 120_000 }, async () => {
  await awayFromUtcMidnight(60_000);
  const secret = newSecret();
  const receiver = await startReceiver({ secret });
  await withReceivers([receiver], async () => {
    const args = ['--api-key', API_KEY, ...FAST_ALERT_ARGS, '--alert-channel-failure-limit', '0'];
    const dataDirA = makeTempDir('usage-metrics-alerts-so-');
    const a = await startServer({ dataDir: dataDirA, args });
    const url = await databaseUrlFor(dataDirA);
    const b = await startServer({ args: [...args, '--database-url', url] });

    const slug = slugName('so');
    const eventType = uniq('alerts-so');
    await createMeter(a, slug, eventType);
    const channel = await createChannel(a, { url: receiver.at('/so'), signingSecret: secret });
    const rule = await createRule(a, { meter: slug, thresholds: [{ value: 10 }], channels: [channel.id] });
    // What A made is B's too.
    assert.equal((await ok(b, 'GET', `/api/v1/notification/rules/${rule.id}`, 200)).id, rule.id);
    assert.equal((await ok(b, 'GET', `/api/v1/notification/channels/${channel.id}`, 200)).id, channel.id);

    // Each subject: 3 tokens four times, alternating instances (3, 6, 9, 12): the
    // crossing batch lands on B for even subjects, on A for odd ones, and the instance
    // that takes it must count the other's usage. Subjects are sent concurrently.
    const subjects = Array.from({ length: SUBJECTS }, (_, i) => `so-${i}`);
    await Promise.all(subjects.map(async (subject, i) => {
      const order = i % 2 === 0 ? [a, b, a, b] : [b, a, b, a];
      for (const server of order) await ingest(server, [usageEvent(eventType, subject, 3)]);
    }));

    const got = await receiver.waitFor(() => true, SUBJECTS, 30_000, 'one delivery per subject');
    await sleep(3000);
    const all = receiver.requests;
    receiver.assertAllVerified();
    const ids = webhookIds(all);
    assert.equal(ids.length, SUBJECTS, `one event per subject: ${summary(all)}`);
    assert.equal(all.length, SUBJECTS, `each event delivered exactly once (receiver always 200): ${summary(all)}`);
    assert.deepEqual(got.map((r) => r.body.data.subject).sort(), [...subjects].sort());
    for (const r of all) {
      assertDelivery(r, { ruleId: rule.id, meter: slug, threshold: 10 });
      assert.equal(r.body.data.value, 12, `the crossing counted both instances' usage: ${r.rawBody}`);
    }
    // Both instances list the same events, all delivered once.
    for (const server of [a, b]) {
      const page = await eventually(async () => {
        const p = await ok(server, 'GET', `/api/v1/notification/events?rule=${rule.id}`, 200);
        return p.items.length === SUBJECTS && p.items.every((e) => e.deliveryStatus[0]?.state === 'SUCCESS') ? p : null;
      }, { timeoutMs: 5000, what: `every event SUCCESS on :${server.port}` });
      assert.deepEqual(page.items.map((e) => e.id).sort(), [...ids].sort());
      for (const e of page.items) assert.equal(e.deliveryStatus[0].attemptCount, 1, JSON.stringify(e.deliveryStatus[0]));
    }
    await Promise.all([a.stop(), b.stop()]);
  });
});
