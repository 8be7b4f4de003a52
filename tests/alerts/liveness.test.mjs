// A webhook receiver that never answers delays neither ingest nor /health; with
// --alert-block-private-targets a delivery to 127.0.0.1 is refused, not sent, and
// the delivery fails with a reason that says it was blocked.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, sleep, eventually, uniq, httpRequest } from '../integration/lib/server.mjs';
import {
  API_KEY, createMeter, createChannel, createRule, usageEvent, ingest, ruleEvents, startReceiver,
  withReceivers, assertDelivery, newSecret, slugName, awayFromUtcMidnight, raw, summary,
} from './lib.mjs';

after(stopAll);

// A liveness bound, not a benchmark: an answer waiting for the hung webhook would take
// the whole attempt timeout (10 s here).
const ANSWER_BOUND_MS = 1500;

test('a hung receiver delays neither ingest nor /health', { timeout: 90_000 }, async () => {
  await awayFromUtcMidnight();
  const secret = newSecret();
  const receiver = await startReceiver({ secret, fallback: 'hang' });
  await withReceivers([receiver], async () => {
    const srv = await startServer({
      args: ['--api-key', API_KEY, '--alert-timeout-ms', '10000', '--alert-retry-schedule', '1s',
        '--alert-retry-max-age', '1m', '--alert-channel-failure-limit', '0'],
    });
    const slug = slugName('hang');
    const eventType = uniq('alerts-hang');
    await createMeter(srv, slug, eventType);
    const channel = await createChannel(srv, { url: receiver.at('/hang'), signingSecret: secret });
    const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 5 }], channels: [channel.id] });
    await ingest(srv, [usageEvent(eventType, 'first', 6)]);
    const [hung] = await receiver.waitFor(() => true, 1, 15_000, 'the delivery that hangs');
    assertDelivery(hung, { ruleId: rule.id, meter: slug, subject: 'first', threshold: 5 });

    // While it hangs: ingests (some crossing for other subjects too) and /health.
    const timings = [];
    for (let i = 0; i < 12; i++) {
      const r = await ingest(srv, [usageEvent(eventType, `other-${i % 4}`, 2)]);
      timings.push(['ingest', r.ms]);
      const began = performance.now();
      const h = await httpRequest(srv.port, { path: '/health', timeoutMs: 5000 });
      timings.push(['health', performance.now() - began]);
      assert.equal(h.status, 200, `/health while a webhook hangs: ${h.status} ${h.text}`);
      const q = await raw(srv, 'GET', `/api/v1/notification/events?rule=${encodeURIComponent(rule.id)}`);
      assert.equal(q.status, 200, q.text);
      timings.push(['events list', q.ms]);
      await sleep(100);
    }
    assert.ok(receiver.hanging.size >= 1, 'the first delivery still hung during the measurements');
    assert.ok(Date.now() - hung.time < 10_000, 'measured within the attempt timeout of the hung delivery');
    const worst = timings.reduce((a, b) => (b[1] > a[1] ? b : a));
    console.log(`# slowest answer while a webhook hung: ${worst[0]} ${worst[1].toFixed(1)} ms of ${timings.length}`);
    for (const [what, ms] of timings) {
      assert.ok(ms < ANSWER_BOUND_MS, `${what} took ${ms.toFixed(0)} ms while a webhook hung`);
    }
    receiver.release(200);
    receiver.fallback = 200;
    receiver.assertAllVerified();
    await srv.stop();
  });
});

test('--alert-block-private-targets: a delivery to 127.0.0.1 is not sent and FAILS as blocked', { timeout: 60_000 }, async () => {
  await awayFromUtcMidnight();
  const secret = newSecret();
  const receiver = await startReceiver({ secret });
  await withReceivers([receiver], async () => {
    const srv = await startServer({
      args: ['--api-key', API_KEY, '--alert-block-private-targets', '--alert-retry-schedule', '1s',
        '--alert-retry-max-age', '2s', '--alert-timeout-ms', '1500', '--alert-channel-failure-limit', '0'],
    });
    const slug = slugName('blocked');
    const eventType = uniq('alerts-blocked');
    await createMeter(srv, slug, eventType);
    const channel = await createChannel(srv, { url: receiver.at('/blocked'), signingSecret: secret });
    const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 1 }], channels: [channel.id] });
    await ingest(srv, [usageEvent(eventType, 'P', 2)]);
    const ds = await eventually(async () => {
      const [ev] = await ruleEvents(srv, rule.id);
      return ev?.deliveryStatus?.[0]?.state === 'FAILED' ? ev.deliveryStatus[0] : null;
    }, { timeoutMs: 20_000, intervalMs: 250, what: 'the delivery to a private address FAILED' });
    assert.match(ds.reason, /blocked/i, JSON.stringify(ds));
    assert.ok(ds.lastStatusCode == null, `no answer came: ${JSON.stringify(ds)}`);
    assert.equal(receiver.requests.length, 0, `nothing reached 127.0.0.1: ${summary(receiver.requests)}`);
    await srv.stop();
  });
});
