// Disabled rules and channels deliver nothing (beside an enabled rule on the same
// meter that does); a channel whose attempts fail --alert-channel-failure-limit times in
// a row is disabled, gets no more attempts, and /metrics counts it.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, sleep, eventually, uniq, api } from '../integration/lib/server.mjs';
import {
  API_KEY, FAST_ALERT_ARGS, CHANNELS_DISABLED_METRIC, createMeter, createChannel, createRule, usageEvent,
  ingest, ruleEvents, startReceiver, withReceivers, assertDelivery, webhookIds, summary, newSecret, slugName,
  awayFromUtcMidnight, ok, metricValue,
} from './lib.mjs';

after(stopAll);

test('a disabled rule and a disabled channel deliver nothing; the enabled ones beside them do', { timeout: 60_000 }, async () => {
  await awayFromUtcMidnight();
  const secret = newSecret();
  const receiver = await startReceiver({ secret });
  await withReceivers([receiver], async () => {
    const srv = await startServer({ args: ['--api-key', API_KEY, ...FAST_ALERT_ARGS, '--alert-channel-failure-limit', '0'] });
    const slug = slugName('disabled');
    const eventType = uniq('alerts-disabled');
    await createMeter(srv, slug, eventType);
    const enabled = await createChannel(srv, { url: receiver.at('/enabled'), signingSecret: secret });
    const offChannel = await createChannel(srv, { url: receiver.at('/off-channel'), signingSecret: secret, disabled: true });
    assert.equal(offChannel.disabled, true);
    const offRule = await createRule(srv, { meter: slug, thresholds: [{ value: 10 }], channels: [enabled.id], disabled: true });
    assert.equal(offRule.disabled, true);
    const toOffChannel = await createRule(srv, { meter: slug, thresholds: [{ value: 10 }], channels: [offChannel.id] });
    const control = await createRule(srv, { meter: slug, thresholds: [{ value: 10 }], channels: [enabled.id] });

    await ingest(srv, [usageEvent(eventType, 'D', 15)]);
    const [got] = await receiver.waitFor(() => true, 1, 15_000, 'the enabled rule\'s delivery');
    assertDelivery(got, { ruleId: control.id, meter: slug, subject: 'D', threshold: 10 });
    await sleep(3000);
    assert.deepEqual(receiver.requests.map((r) => [r.path, r.body?.data?.rule?.id]), [['/enabled', control.id]],
      `only the enabled rule to the enabled channel: ${summary(receiver.requests)}`);
    receiver.assertAllVerified();
    assert.equal((await ruleEvents(srv, offRule.id)).length, 0, 'a disabled rule makes no events');
    for (const ev of await ruleEvents(srv, toOffChannel.id)) {
      for (const ds of ev.deliveryStatus) {
        assert.notEqual(ds.state, 'SUCCESS', `nothing delivered to a disabled channel: ${JSON.stringify(ev)}`);
      }
    }

    // Enabling the rule later does not deliver the past (usage is not re-sent), and a
    // new crossing of the now enabled rule does deliver.
    const put = await ok(srv, 'PUT', `/api/v1/notification/rules/${offRule.id}`, 200, {
      body: { type: 'meter.usage.threshold', name: offRule.name, meter: slug, thresholds: [{ value: 10 }, { value: 30 }],
        window: 'DAY', windowTimeZone: 'UTC', channels: [enabled.id], disabled: false },
    });
    assert.equal(put.disabled, false);
    await ingest(srv, [usageEvent(eventType, 'D', 20)]); // 35: crosses 30 for the re-enabled rule
    const [after30] = await receiver.waitFor((r) => r.body?.data?.rule?.id === offRule.id && r.body.data.threshold === 30,
      1, 15_000, 'the re-enabled rule\'s crossing of 30');
    assertDelivery(after30, { ruleId: offRule.id, meter: slug, subject: 'D', threshold: 30 });
    assert.equal(after30.body.data.value, 35);
    receiver.assertAllVerified();
    await srv.stop();
  });
});

test('--alert-channel-failure-limit 2: two failed attempts disable the channel; /metrics counts it', { timeout: 60_000 }, async () => {
  await awayFromUtcMidnight();
  const secret = newSecret();
  const receiver = await startReceiver({ secret, fallback: 500 });
  await withReceivers([receiver], async () => {
    const srv = await startServer({ args: ['--api-key', API_KEY, ...FAST_ALERT_ARGS, '--alert-channel-failure-limit', '2'] });
    const slug = slugName('failing');
    const eventType = uniq('alerts-failing');
    await createMeter(srv, slug, eventType);
    const channel = await createChannel(srv, { url: receiver.at('/failing'), signingSecret: secret });
    const rule = await createRule(srv, { meter: slug, thresholds: [{ value: 3 }], channels: [channel.id] });
    await ingest(srv, [usageEvent(eventType, 'F', 4)]);

    const got = await receiver.waitFor(() => true, 2, 20_000, 'two failed attempts');
    assert.equal(webhookIds(got).length, 1, summary(got));
    for (const r of got) assertDelivery(r, { ruleId: rule.id, meter: slug, subject: 'F', threshold: 3 });
    const disabled = await eventually(async () => {
      const c = await ok(srv, 'GET', `/api/v1/notification/channels/${channel.id}`, 200);
      return c.disabled === true ? c : null;
    }, { timeoutMs: 10_000, intervalMs: 200, what: 'the channel disabled after 2 failures' });
    assert.equal(disabled.id, channel.id);
    await sleep(3000); // past the 1 s retry: a disabled channel gets no attempt
    assert.equal(receiver.requests.length, 2, `no attempt after the channel was disabled: ${summary(receiver.requests)}`);
    receiver.assertAllVerified();

    const [ev] = await ruleEvents(srv, rule.id);
    const ds = ev.deliveryStatus[0];
    assert.equal(ds.attemptCount, 2, JSON.stringify(ds));
    assert.equal(ds.lastStatusCode, 500, JSON.stringify(ds));
    assert.notEqual(ds.state, 'SUCCESS');

    const m = await api(srv, 'GET', '/metrics', { headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(m.status, 200, m.text.slice(0, 300));
    const v = metricValue(m.text, CHANNELS_DISABLED_METRIC);
    assert.ok(v !== undefined, `${CHANNELS_DISABLED_METRIC} in /metrics:\n${m.text.split('\n').filter((l) => /notif|alert/.test(l)).join('\n')}`);
    assert.ok(v >= 1, `${CHANNELS_DISABLED_METRIC} = ${v}`);
    await srv.stop();
  });
});
