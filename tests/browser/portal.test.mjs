// The customer portal (GET /portal#token=…) in Debian's headless Chromium:
// the page shows the token's subject only (this month's totals and the
// chart of the allowed meter, each equal to the API's answer to that
// token), offers no other meter, fits 375 px, and says so when the token is
// invalidated or missing. No console error, failed request or CSP violation.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { api, makeTempDir, startServer, stopAll, START_TIMEOUT_MS } from '../integration/lib/server.mjs';
import { launchBrowser, openPage, screenshot } from './lib.mjs';

const KEY = 'portal-browser-key';
const SECRET = 'portal-browser-secret-of-32-characters';
const T = { timeout: 120_000 };
const WAIT = { timeout: 60_000 };
const HOUR = 3_600_000;
const auth = { Authorization: `Bearer ${KEY}` };

let srv;
let browser;
let token;

before(async () => {
  const dir = makeTempDir('usage-metrics-portal-browser-');
  const meters = path.join(dir, 'meters.yaml');
  writeFileSync(meters, `meters:
  - slug: tokens
    name: LLM tokens
    eventType: prompt
    aggregation: SUM
    valueProperty: $.tokens
    groupBy:
      model: $.model
  - slug: prompts
    eventType: prompt
    aggregation: COUNT
`);
  srv = await startServer({ args: ['--api-key', KEY, '--portal-secret', SECRET, '--meters', meters] });
  // Within the last three hours (and this month in UTC, unless the month began
  // in them: the totals are compared with the API's answer either way).
  const base = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
  const events = [];
  for (let h = 0; h < 3; h += 1) {
    for (const [subject, tokens] of [['acme', 10 + h], ['globex', 1000 + h]]) {
      for (const model of ['small', 'large']) {
        events.push({
          specversion: '1.0', id: `pb-${h}-${subject}-${model}`, source: 'portal-browser', type: 'prompt', subject,
          time: new Date(base + h * HOUR + 60_000).toISOString(), data: { tokens: model === 'large' ? 2 * tokens : tokens, model },
        });
      }
    }
  }
  const r = await api(srv, 'POST', '/api/v1/events', {
    body: JSON.stringify(events), headers: { ...auth, 'content-type': 'application/cloudevents-batch+json' },
  });
  assert.equal(r.status, 204, r.text);
  const created = await api(srv, 'POST', '/api/v1/portal/tokens', {
    body: { subject: 'acme', allowedMeterSlugs: ['tokens'] }, headers: auth,
  });
  assert.equal(created.status, 200, created.text);
  token = created.json.token;
  browser = await launchBrowser();
}, { timeout: START_TIMEOUT_MS });

after(async () => {
  await browser?.close();
  await stopAll();
});

async function portalQuery(query) {
  const r = await api(srv, 'GET', `/api/v1/portal/meters/tokens/query?${query}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, r.text);
  return r.json.data;
}

async function shown(p) {
  await p.waitForFunction(() => document.querySelector('#meter-view')?.dataset.state === 'ready'
    && document.querySelector('#period-table tbody tr[data-slug]'), WAIT);
  return p.evaluate(() => ({
    subject: document.querySelector('#subject-name').textContent,
    query: document.querySelector('#meter-view').dataset.query,
    period: [...document.querySelectorAll('#period-table tbody tr')].map((tr) =>
      [tr.dataset.slug, Number(tr.querySelector('td').dataset.value)]),
    periodFrom: document.querySelector('#period-table').dataset.from,
    periodTo: document.querySelector('#period-table').dataset.to,
    meters: [...document.querySelectorAll('#meter-picker option')].map((o) => o.value),
    subjectsField: document.querySelectorAll('#meter-view input[name=subject]').length,
    groupBy: [...document.querySelectorAll('#meter-view input[name=groupBy]')].map((b) => b.value),
    points: [...document.querySelectorAll('#meter-view circle.point')].map((c) => ({
      series: c.closest('g.series').dataset.series, start: c.dataset.start, value: Number(c.dataset.value),
    })),
    tableSubjects: [...document.querySelectorAll('#meter-view table.numbers tbody td')].map((td) => td.textContent),
  }));
}

describe('the customer portal', () => {
  test('shows the token\'s subject only, as the API answers that token', T, async () => {
    const p = await openPage(browser);
    await p.goto(`${srv.baseUrl}/portal#token=${token}`, { waitUntil: 'load' });
    let page = await shown(p);
    assert.equal(await p.evaluate(() => window.location.hash), '', 'the token left the address bar');
    assert.equal(page.subject, 'acme');
    assert.deepEqual(page.meters, ['tokens'], 'only the allowed meter is offered');
    assert.equal(page.subjectsField, 0, 'no subject filter');
    assert.deepEqual(page.groupBy, ['model']);
    const month = await portalQuery(`from=${encodeURIComponent(page.periodFrom.replace('.000Z', 'Z'))}&to=${encodeURIComponent(page.periodTo.replace('.000Z', 'Z'))}`);
    assert.deepEqual(page.period, [['tokens', month.reduce((n, r) => n + r.value, 0)]]);
    let rows = await portalQuery(page.query);
    assert.ok(rows.length > 0 && rows.every((r) => r.subject === 'acme'));
    assert.deepEqual(page.points.map((pt) => [pt.start, pt.value]).sort(),
      rows.map((r) => [new Date(r.windowStart).toISOString(), r.value]).sort());

    await p.click('#meter-view input[name=groupBy][value=model]');
    await p.waitForFunction(() => /groupBy=model/.test(document.querySelector('#meter-view').dataset.query ?? '')
      && document.querySelector('#meter-view').dataset.state === 'ready', WAIT);
    page = await shown(p);
    rows = await portalQuery(page.query);
    assert.deepEqual(page.points.map((pt) => [pt.series, pt.start, pt.value]).sort(),
      rows.map((r) => [`model=${r.groupBy.model}`, new Date(r.windowStart).toISOString(), r.value]).sort());
    assert.ok(!page.tableSubjects.some((t) => /globex/.test(t)));
    assert.ok(!(await p.content()).includes('globex'), 'nothing of another subject on the page');
    await screenshot(p, 'portal');
    assert.deepEqual(p.problems, []);
    await p.closeContext();
  });

  test('fits 375 px wide', T, async () => {
    const p = await openPage(browser, { width: 375, height: 812, mobile: true });
    await p.goto(`${srv.baseUrl}/portal#token=${token}`, { waitUntil: 'load' });
    await shown(p);
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `no sideways scrolling: ${width}`);
    await screenshot(p, 'portal-375');
    assert.deepEqual(p.problems, []);
    await p.closeContext();
  });

  test('says so when the token is missing or no longer valid', T, async () => {
    const p = await openPage(browser);
    await p.goto(`${srv.baseUrl}/portal`, { waitUntil: 'load' });
    await p.waitForSelector('#no-token:not([hidden])', WAIT);
    const other = await api(srv, 'POST', '/api/v1/portal/tokens', { body: { subject: 'acme' }, headers: auth });
    const r = await api(srv, 'POST', '/api/v1/portal/tokens/invalidate', { body: { id: other.json.id }, headers: auth });
    assert.equal(r.status, 204);
    p.expectedStatuses.add(401);
    // A new link in the same tab changes the fragment only: the page starts over with its token.
    await p.evaluate((t) => { window.location.hash = `token=${t}`; }, other.json.token);
    await p.waitForFunction(() => /no longer valid/.test(document.querySelector('#no-token-message')?.textContent ?? ''), WAIT);
    assert.equal(await p.$eval('#app', (el) => el.hidden), true);
    assert.deepEqual(p.problems, []);
    await p.closeContext();
  });
});
