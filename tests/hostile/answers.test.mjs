// Answers stay bounded whatever the stored events hold: a listing of large
// events stops at its documented size (8 MiB of event data) and says there is
// more, so a client pages through everything with `offset += events.length`,
// and four such listings at once do not take the service's memory.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, api, uniq, listAllEvents } from '../integration/lib/server.mjs';
import { rssMiB } from '../integration/lib/load.mjs';
import { assertHealthyFast } from './lib.mjs';

after(stopAll);

test('listings of large events stop at 8 MiB of data and page through everything', { timeout: 120_000 }, async () => {
  const srv = await startServer();
  const run = uniq('wide');
  const filler = 'x'.repeat(250_000);
  const count = 40;
  for (let i = 0; i < count; i++) {
    const r = await api(srv, 'POST', '/v1/events', {
      body: { id: `${run}-${i}`, entityId: run, eventType: 'wide', metadata: { i, filler } },
    });
    assert.equal(r.status, 201, r.text);
  }
  const page = await api(srv, 'GET', `/v1/events?entityId=${run}&limit=1000`);
  assert.equal(page.status, 200);
  const { events, pagination } = page.json.data;
  assert.ok(events.length < count, `one page held ${events.length} events of 250 kB`);
  assert.ok(events.length >= 30, `the page is cut at 8 MiB, not sooner: ${events.length}`);
  assert.equal(pagination.total, count);
  assert.equal(pagination.hasMore, true);
  const all = await listAllEvents(srv, run);
  assert.equal(new Set(all.events.map((e) => e.id)).size, count, 'paging by events.length reaches every event');

  const search = await api(srv, 'GET', `/api/v1/events?subject=${run}&limit=100`);
  assert.equal(search.status, 200);
  assert.ok(search.json.length < count && search.json.length >= 30, `metering listing held ${search.json.length}`);

  const before = rssMiB(srv.process.pid);
  const four = await Promise.all(Array.from({ length: 4 }, () =>
    api(srv, 'GET', `/v1/events?entityId=${run}&limit=1000`, { timeoutMs: 20_000 })));
  for (const r of four) assert.equal(r.status, 200);
  const after = rssMiB(srv.process.pid);
  assert.ok(after - before < 200, `RSS grew from ${before} to ${after} MiB for four listings`);
  await assertHealthyFast(srv);
});
