// Consumer portal tokens through the published client: `portal.create`,
// `portal.list` and `portal.invalidate` of @openmeter/sdk with the API key,
// and its portal client (`@openmeter/sdk/portal`) querying with the token,
// which answers that subject's usage of the allowed meters only.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OpenMeter as PortalClient } from '@openmeter/sdk/portal';
import { startServer, stopAll, START_TIMEOUT_MS } from '../integration/lib/server.mjs';
import { API_KEY, client, retry503, sdkRejects } from './lib.mjs';

const T = { timeout: 60_000 };
const D = (s) => new Date(s);
const SECRET = 'metering-portal-secret-of-32-characters+';

let srv;
let om;

before(async () => {
  srv = await startServer({ args: ['--api-key', API_KEY, '--portal-secret', SECRET] });
  om = client(srv);
  await om.meters.create({ slug: 'portal_tokens', eventType: 'prompt', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } });
  await om.meters.create({ slug: 'portal_calls', eventType: 'prompt', aggregation: 'COUNT' });
  let n = 0;
  const ce = (subject, time, tokens, model) => ({
    id: `portal-${++n}`, source: 'portal-test', specversion: '1.0', type: 'prompt', subject, time: D(time), data: { tokens, model },
  });
  await om.events.ingest([
    ce('cust-1', '2024-05-01T10:05:00Z', 5, 'small'),
    ce('cust-1', '2024-05-01T11:05:00Z', 7, 'large'),
    ce('cust-2', '2024-05-01T10:15:00Z', 100, 'small'),
  ]);
}, { timeout: START_TIMEOUT_MS });

after(stopAll);

test('portal.create, list and invalidate speak OpenMeter\'s shapes', T, async () => {
  const created = await om.portal.create({ subject: 'cust-1', allowedMeterSlugs: ['portal_tokens'] });
  assert.equal(created.subject, 'cust-1');
  assert.deepEqual(created.allowedMeterSlugs, ['portal_tokens']);
  assert.equal(created.expired, false);
  assert.ok(created.createdAt instanceof Date, 'createdAt decoded as a date');
  assert.match(created.token, /^om_portal_/);
  const other = await om.portal.create({ subject: 'cust-2', expiresAt: D('2099-01-01T00:00:00Z') });
  assert.ok(other.expiresAt instanceof Date);
  assert.equal(other.expiresAt.toISOString(), '2099-01-01T00:00:00.000Z');

  const listed = await om.portal.list({ limit: 10 });
  assert.deepEqual(listed.slice(0, 2).map((t) => t.id), [other.id, created.id]);
  assert.ok(listed.every((t) => t.token === undefined), 'a token is shown at creation only');

  assert.equal(await om.portal.invalidate({ id: other.id }), undefined);
  assert.ok(!(await om.portal.list({ limit: 10 })).some((t) => t.id === other.id));
  await sdkRejects(om.portal.create({}), 400, /subject/);
  await sdkRejects(om.portal.invalidate({}), 400, /id of a token or a subject/);
});

test('the portal client reads its subject\'s usage of the allowed meters only', T, async () => {
  const { token } = await om.portal.create({ subject: 'cust-1', allowedMeterSlugs: ['portal_tokens'] });
  const portal = new PortalClient({ baseUrl: srv.baseUrl, portalToken: token });
  const result = await retry503(() => portal.query('portal_tokens', {
    from: D('2024-05-01T00:00:00Z'), to: D('2024-05-02T00:00:00Z'), windowSize: 'HOUR', groupBy: ['model'],
  }));
  assert.deepEqual(result.data.map((r) => [r.windowStart.toISOString(), r.subject, r.groupBy.model, r.value]), [
    ['2024-05-01T10:00:00.000Z', 'cust-1', 'small', 5],
    ['2024-05-01T11:00:00.000Z', 'cust-1', 'large', 7],
  ]);
  await sdkRejects(portal.query('portal_calls', {}), 403, /does not allow meter portal_calls/);

  // The token opens nothing of the operator's API, and stops at invalidation.
  const asOperator = client(srv, token);
  await sdkRejects(asOperator.meters.list(), 401);
  await sdkRejects(asOperator.portal.list(), 401);
  await om.portal.invalidate({ subject: 'cust-1' });
  await sdkRejects(portal.query('portal_tokens', {}), 401);
});
