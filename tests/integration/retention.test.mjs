// --retention: events older than the retention are removed in the background,
// with their counts, while newer ones stay; requests keep being answered.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, postEvent, api, eventually, uniq } from './lib/server.mjs';

after(stopAll);

test('events older than --retention are removed with their rollups', { timeout: 30_000 }, async () => {
  const srv = await startServer({ args: ['--retention', '1h'] });
  const entity = uniq('retained');
  const now = Date.now();
  const old = new Date(now - 3 * 3600_000).toISOString();
  const recent = new Date(now - 10 * 60_000).toISOString();
  for (let i = 0; i < 5; i++) {
    assert.equal((await postEvent(srv, { entityId: entity, eventType: 'old', timestamp: old })).status, 201);
  }
  for (let i = 0; i < 3; i++) {
    assert.equal((await postEvent(srv, { entityId: entity, eventType: 'recent', timestamp: recent })).status, 201);
  }
  // The first retention pass runs a second after start, then every minute.
  const usage = await eventually(async () => {
    const r = await api(srv, 'GET', `/v1/usage/${encodeURIComponent(entity)}`);
    assert.equal(r.status, 200);
    return r.json.data.totalEvents === 3 ? r.json.data : null;
  }, { timeoutMs: 10_000, intervalMs: 200, what: 'the first retention pass removed the old events' });
  assert.deepEqual(usage.byEventType, { recent: 3 });
  const listed = await api(srv, 'GET', `/v1/events?entityId=${encodeURIComponent(entity)}`);
  assert.equal(listed.json.data.pagination.total, 3);
  assert.ok(listed.json.data.events.every((e) => e.eventType === 'recent'));
  const history = await api(srv, 'GET', `/v1/usage/${encodeURIComponent(entity)}/history?interval=hour`);
  assert.equal(history.json.data.dataPoints.reduce((n, p) => n + p.count, 0), 3);
  assert.ok(srv.logs.some((l) => l.message === 'retention removed old events' && l.removed >= 5));
});

test('without --retention nothing is removed', { timeout: 20_000 }, async () => {
  const srv = await startServer({});
  const entity = uniq('kept');
  const old = new Date(Date.now() - 400 * 86400_000).toISOString();
  assert.equal((await postEvent(srv, { entityId: entity, eventType: 'old', timestamp: old })).status, 201);
  // With --retention the first pass runs a second after start (by the server's clock):
  // judge once the server itself has been up well past that moment.
  await eventually(async () => (await api(srv, 'GET', '/info')).json.uptime.ms >= 1500,
    { timeoutMs: 10_000, intervalMs: 100, what: 'the server has been up 1.5 s' });
  const r = await api(srv, 'GET', `/v1/usage/${encodeURIComponent(entity)}`);
  assert.equal(r.json.data.totalEvents, 1);
  // Stopped (its log flushed), the server never ran a retention pass.
  assert.equal(await srv.stop('SIGTERM'), 0);
  assert.deepEqual(srv.logs.filter((l) => /retention/.test(l.message)), []);
});
