// Upgrading an embedded data dir of an earlier release (one SQLite file,
// usage-metrics.db): the first start imports it, every answer stays the same,
// ids stay taken, the file is kept aside, and later starts do not import again.
// The earlier release's data dir is made by this binary with `sqlite:PATH`,
// which writes the same file.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, stopAll, api, postEvent, listAllEvents, makeTempDir, uniq, backend,
} from './lib/server.mjs';

after(stopAll);

const embedded = backend !== 'postgres';

async function answers(server, entityId) {
  const get = async (p) => {
    const r = await api(server, 'GET', p);
    assert.equal(r.status, 200, `${p}: ${r.text}`);
    return r.json;
  };
  const range = 'since=2024-01-01T00:00:00.000Z&until=2024-12-31T00:00:00.000Z';
  const usage = (await get(`/v1/usage/${entityId}?${range}`)).data;
  return {
    events: (await listAllEvents(server, entityId)).events,
    usage: { totalEvents: usage.totalEvents, byEventType: usage.byEventType },
    history: (await get(`/v1/usage/${entityId}/history?interval=hour&${range}`)).data.dataPoints,
    meter: await get(`/api/v1/meters/upgrade_tokens/query?windowSize=HOUR&groupBy=model&subject=${entityId}&from=2024-03-01T00:00:00Z&to=2024-03-02T00:00:00Z`),
    meters: await get('/api/v1/meters'),
    subject: await get(`/api/v1/subjects/${entityId}`),
  };
}

test('the first start on a SQLite data dir imports it; answers, ids and subjects stay; later starts do not import again',
  { timeout: 120_000, skip: !embedded && 'the import is of the embedded store; PostgreSQL has none' }, async () => {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, 'usage-metrics.db');
    const entityId = uniq('upgrade');
    const old = await startServer({ dataDir, args: ['--database-url', `sqlite:${file}`] });
    const meter = await api(old, 'POST', '/api/v1/meters', {
      body: { slug: 'upgrade_tokens', aggregation: 'SUM', eventType: 'tokens', valueProperty: '$.tokens', groupBy: { model: '$.model' } },
    });
    assert.equal(meter.status, 201, meter.text);
    for (let i = 0; i < 30; i++) {
      const r = await postEvent(old, {
        id: `${entityId}-${i}`, entityId, eventType: i % 3 ? 'tokens' : 'login',
        timestamp: new Date(Date.UTC(2024, 2, 1, i % 5, i)).toISOString(), metadata: { tokens: i, model: i % 2 ? 'a' : 'b' },
      });
      assert.equal(r.status, 201, r.text);
    }
    const ce = await api(old, 'POST', '/api/v1/events', {
      body: [{ specversion: '1.0', id: `${entityId}-ce`, source: 'upgrade-test', type: 'tokens', subject: entityId, time: '2024-03-01T07:30:00Z', data: { tokens: 1000, model: 'a' } }],
      headers: { 'content-type': 'application/cloudevents-batch+json' },
    });
    assert.equal(ce.status, 204, ce.text);
    const subject = await api(old, 'POST', '/api/v1/subjects', { body: [{ key: entityId, displayName: 'Upgrade Co' }] });
    assert.ok(subject.status === 200 || subject.status === 201, subject.text);
    const before = await answers(old, entityId);
    assert.equal(before.usage.totalEvents, 31);
    assert.equal(await old.stop('SIGTERM'), 0, old.stderr);

    const upgraded = await startServer({ dataDir, healthTimeoutMs: 60_000 });
    const done = upgraded.logs.find((l) => l.message === 'storage: SQLite data dir imported');
    assert.ok(upgraded.logs.some((l) => l.message === 'storage: importing the SQLite data dir' && l.file === file),
      'the import is announced with the file');
    assert.ok(done, `the import reports its end; logs: ${upgraded.rawStdout.slice(0, 5).join('\n')}`);
    assert.ok(done.eventsRead >= 31 && done.eventsStored === done.eventsRead, JSON.stringify(done));
    assert.equal(done.meters, 1);
    assert.equal(done.keptAs, `${file}.imported`);
    assert.ok(!existsSync(file) && existsSync(`${file}.imported`), 'the file is kept aside');
    assert.deepEqual(await answers(upgraded, entityId), before, 'every answer as before the upgrade');
    const again = await postEvent(upgraded, { id: `${entityId}-0`, entityId, eventType: 'login' });
    assert.equal(again.status, 200, `an id stored before the upgrade stays taken: ${again.text}`);
    assert.equal(await upgraded.stop('SIGTERM'), 0, upgraded.stderr);

    const later = await startServer({ dataDir });
    assert.ok(!later.logs.some((l) => String(l.message).startsWith('storage: import')), 'no second import');
    assert.deepEqual(await answers(later, entityId), before);
    assert.equal(await later.stop('SIGTERM'), 0, later.stderr);
  });
