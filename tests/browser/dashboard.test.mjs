// The operator dashboard in a real browser (Debian's Chromium, headless):
// sign in with the key, pick a meter, change the window, time zone, subjects
// and group-by, and check that the chart drew the numbers the API serves (each
// point's value and its place on the axes), that the table lists them and the
// CSV download is the service's CSV; a subject's v1 summary and history;
// a refresh without reloading; the key from the URL fragment (never sent to
// the server); 375 px wide; the keyboard reaching every control. No console
// error, failed request or CSP violation on any page. Screenshots go to the
// artifacts directory (tests/browser/lib.mjs).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  api, makeTempDir, startServer, stopAll, eventually, START_TIMEOUT_MS,
} from '../integration/lib/server.mjs';
import { artifactsDir, launchBrowser, openPage, screenshot } from './lib.mjs';

const KEY = 'browser-test-key-3f9a';
const T = { timeout: 120_000 };
const WAIT = { timeout: 60_000 };
const HOUR = 3_600_000;

let srv;
let browser;
let page;
const auth = { Authorization: `Bearer ${KEY}` };

// Five hours of prompts, two subjects, two models; globex has no usage in the
// third hour (the chart's line breaks there).
const base = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;
function prompts() {
  const events = [];
  for (let h = 0; h < 5; h += 1) {
    for (const subject of ['acme', 'globex']) {
      if (subject === 'globex' && h === 2) continue;
      for (const [m, model] of ['small', 'large'].entries()) {
        for (let i = 0; i < 2; i += 1) {
          events.push({
            specversion: '1.0', id: `p-${h}-${subject}-${model}-${i}`, source: 'browser-test', type: 'prompt',
            subject, time: new Date(base + h * HOUR + (5 + i * 20) * 60_000).toISOString(),
            data: { tokens: (h + 1) * 10 + (subject === 'acme' ? 1 : 2) * (m ? 7 : 3) + i, model },
          });
        }
      }
    }
  }
  return events;
}

async function ingest(events) {
  const r = await api(srv, 'POST', '/api/v1/events', {
    body: JSON.stringify(events), headers: { ...auth, 'content-type': 'application/cloudevents-batch+json' },
  });
  assert.equal(r.status, 204, r.text);
}

before(async () => {
  const dir = makeTempDir('usage-metrics-browser-');
  const meters = path.join(dir, 'meters.yaml');
  writeFileSync(meters, `meters:
  - slug: tokens
    name: LLM tokens
    description: Tokens used by prompts
    eventType: prompt
    aggregation: SUM
    valueProperty: $.tokens
    groupBy:
      model: $.model
  - slug: prompts
    eventType: prompt
    aggregation: COUNT
`);
  srv = await startServer({ args: ['--api-key', KEY, '--meters', meters] });
  await ingest(prompts());
  const v1 = [];
  for (const [i, type] of ['login', 'login', 'export', 'login', 'export'].entries()) {
    v1.push({ entityId: 'acme-user', eventType: type, timestamp: new Date(base + i * HOUR + 60_000).toISOString() });
  }
  const r = await api(srv, 'POST', '/v1/events/batch', { body: { events: v1 }, headers: auth });
  assert.equal(r.status, 201, r.text);
  browser = await launchBrowser();
}, { timeout: START_TIMEOUT_MS });

after(async () => {
  await browser?.close();
  await stopAll();
});

/** Picks `value` in the select `selector`, failing when it offers no such option. */
async function choose(p, selector, value) {
  assert.deepEqual(await p.select(selector, value), [value], `${selector} offers ${value}`);
}

/** The meter view's numbers as the page shows them, once it shows the answer to a query matching `wanted`. */
async function shownQuery(p, wanted = []) {
  await p.waitForFunction((parts) => {
    const view = document.querySelector('#meter-view');
    return view?.dataset.state === 'ready' && parts.every((x) => view.dataset.query.includes(x));
  }, WAIT, wanted);
  return p.$eval('#meter-view', (view) => view.dataset.query);
}

/** What the chart drew: its scales, and each series' path and points. */
function readChart(p, selector) {
  return p.$eval(selector, (svg) => {
    const n = (name) => Number(svg.getAttribute(name));
    return {
      yMin: n('data-y-min'), yMax: n('data-y-max'), xMin: n('data-x-min'), xMax: n('data-x-max'),
      left: n('data-plot-left'), right: n('data-plot-right'), top: n('data-plot-top'), bottom: n('data-plot-bottom'),
      seriesCount: n('data-series-count'),
      series: [...svg.querySelectorAll('g.series')].map((g) => ({
        name: g.dataset.series,
        d: g.querySelector('path.line').getAttribute('d'),
        points: [...g.querySelectorAll('circle.point')].map((c) => ({
          start: c.dataset.start, value: Number(c.dataset.value),
          cx: Number(c.getAttribute('cx')), cy: Number(c.getAttribute('cy')),
        })),
      })),
      label: svg.querySelector('title').textContent,
    };
  });
}

const seriesName = (groupBy, row) => (groupBy.length
  ? groupBy.map((k) => `${k}=${(k === 'subject' ? row.subject : row.groupBy?.[k]) ?? '(none)'}`).join(', ')
  : 'total');

/**
 * Asserts that the chart drew exactly the rows: one series per group, one
 * point per row at its window start with its value, placed on the axes where
 * that value and time belong, and the line passing through it.
 */
function assertChartShows(chart, rows, groupBy, label, nameOf = (row) => seriesName(groupBy, row)) {
  assert.ok(rows.length > 0, `${label}: the API has rows`);
  const names = new Set(rows.map(nameOf));
  assert.equal(chart.seriesCount, names.size, `${label}: series`);
  assert.deepEqual(new Set(chart.series.map((s) => s.name)), names, `${label}: series names`);
  assert.equal(chart.series.reduce((n, s) => n + s.points.length, 0), rows.length, `${label}: one point per row`);
  assert.ok(chart.yMin <= Math.min(0, ...rows.map((r) => r.value)) && chart.yMax >= Math.max(...rows.map((r) => r.value)),
    `${label}: the value axis covers the values`);
  for (const row of rows) {
    const series = chart.series.find((s) => s.name === nameOf(row));
    const start = new Date(row.windowStart).toISOString();
    const point = series.points.find((pt) => pt.start === start);
    assert.ok(point, `${label}: a point of ${series.name} at ${start}`);
    assert.equal(point.value, row.value, `${label}: ${series.name} at ${start}`);
    const cy = chart.bottom - ((row.value - chart.yMin) / (chart.yMax - chart.yMin)) * (chart.bottom - chart.top);
    const cx = chart.left + ((Date.parse(start) - chart.xMin) / (chart.xMax - chart.xMin)) * (chart.right - chart.left);
    assert.ok(Math.abs(point.cy - cy) < 0.02, `${label}: height of ${row.value} (${point.cy} vs ${cy})`);
    assert.ok(Math.abs(point.cx - cx) < 0.02, `${label}: place of ${start} (${point.cx} vs ${cx})`);
    assert.ok(series.d.includes(`${point.cx},${point.cy}`), `${label}: the line passes through ${start}`);
  }
}

/** The meter view's table rows: window start, group values, value. */
function readTable(p) {
  return p.$$eval('#meter-view table.numbers tbody tr[data-window-start]', (trs) => trs.map((tr) => ({
    windowStart: tr.dataset.windowStart,
    groups: [...tr.querySelectorAll('td[data-group]')].map((td) => td.dataset.group),
    value: Number(tr.querySelector('td[data-value]').dataset.value),
  })));
}

function assertTableShows(table, rows, groupBy, label) {
  const key = (windowStart, groups, value) => `${windowStart}|${groups.join('|')}|${value}`;
  const want = rows.map((r) => key(r.windowStart, groupBy.map((k) => (k === 'subject' ? r.subject : r.groupBy?.[k]) ?? ''), r.value)).sort();
  assert.deepEqual(table.map((t) => key(t.windowStart, t.groups, t.value)).sort(), want, `${label}: the table`);
  const starts = table.map((t) => Date.parse(t.windowStart));
  assert.deepEqual(starts, [...starts].sort((a, b) => a - b), `${label}: the table in time order`);
}

/** The API's answer to the query the page shows, asked directly. */
async function served(slug, query) {
  const r = await api(srv, 'GET', `/api/v1/meters/${slug}/query?${query}`, { headers: auth });
  assert.equal(r.status, 200, r.text);
  return r.json.data;
}

function assertNoProblems(p, label) {
  assert.deepEqual(p.problems, [], `${label}: console errors, failed requests or CSP violations`);
}

async function signInWithFragment(p) {
  await p.goto(`${srv.baseUrl}/dashboard#key=${encodeURIComponent(KEY)}`, { waitUntil: 'load' });
  await p.waitForSelector('#meters-table tbody tr[data-slug]', WAIT);
  await shownQuery(p);
}

describe('the dashboard', () => {
  test('asks for the key, refuses a wrong one, and lists the meters with the right one', T, async () => {
    page = await openPage(browser);
    await page.goto(`${srv.baseUrl}/dashboard`, { waitUntil: 'load' });
    await page.waitForSelector('#login:not([hidden])', WAIT);
    assert.equal(await page.$eval('#app', (el) => el.hidden), true);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'api-key');
    await screenshot(page, 'dashboard-login');

    page.expectedStatuses.add(401);
    await page.type('#api-key', 'not-the-key');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /refused/.test(document.querySelector('#login-message').textContent), WAIT);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('usage-metrics.api-key')), null);
    page.expectedStatuses.delete(401);

    await page.type('#api-key', KEY);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#meters-table tbody tr[data-slug]', WAIT);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('usage-metrics.api-key')), KEY);
    const meters = await page.$$eval('#meters-table tbody tr', (trs) => trs.map((tr) =>
      [...tr.querySelectorAll('th, td')].map((c) => c.textContent.trim())));
    assert.deepEqual(meters.map((m) => m[0]).sort(), ['prompts', 'tokens']);
    const tokens = meters.find((m) => m[0] === 'tokens');
    assert.deepEqual(tokens, ['tokens', 'LLM tokens', 'SUM', 'prompt', '$.tokens', 'model: $.model', 'Tokens used by prompts']);
    assertNoProblems(page, 'sign in');
  });

  test('draws the served numbers of a meter, and again after each change of window, zone, group-by and subjects', T, async () => {
    await choose(page, '#meter-picker', 'tokens');
    let query = await shownQuery(page, ['windowSize=HOUR']);
    assert.match(await page.$eval('#meter-view .meter-title', (el) => el.textContent), /LLM tokens \(tokens\)/);
    let rows = await served('tokens', query);
    assertChartShows(await readChart(page, '#meter-view .chart-svg'), rows, [], 'hourly total');
    assertTableShows(await readTable(page), rows, [], 'hourly total');
    // Five hours of usage, of which some in every hour.
    assert.equal(rows.length, 5);

    await choose(page, '#meter-view select[name=windowSize]', 'DAY');
    query = await shownQuery(page, ['windowSize=DAY']);
    rows = await served('tokens', query);
    assertChartShows(await readChart(page, '#meter-view .chart-svg'), rows, [], 'daily total');
    assertTableShows(await readTable(page), rows, [], 'daily total');

    await choose(page, '#meter-view select[name=windowSize]', 'HOUR');
    await page.click('#meter-view input[name=groupBy][value=model]');
    query = await shownQuery(page, ['windowSize=HOUR', 'groupBy=model']);
    rows = await served('tokens', query);
    let chart = await readChart(page, '#meter-view .chart-svg');
    assertChartShows(chart, rows, ['model'], 'hourly by model');
    assertTableShows(await readTable(page), rows, ['model'], 'hourly by model');
    assert.equal(chart.series.length, 2);
    assert.deepEqual(await page.$$eval('#meter-view .legend li', (lis) => lis.map((li) => li.textContent).sort()),
      ['model=large', 'model=small']);
    await screenshot(page, 'dashboard');

    await page.click('#meter-view input[name=groupBy][value=subject]');
    query = await shownQuery(page, ['groupBy=subject', 'groupBy=model']);
    rows = await served('tokens', query);
    chart = await readChart(page, '#meter-view .chart-svg');
    assertChartShows(chart, rows, ['subject', 'model'], 'hourly by subject and model');
    assertTableShows(await readTable(page), rows, ['subject', 'model'], 'hourly by subject and model');
    // globex had no usage in the third hour: its lines break there.
    const globex = chart.series.find((s) => s.name === 'subject=globex, model=small');
    assert.equal(globex.points.length, 4);
    assert.equal((globex.d.match(/M/g) ?? []).length, 2, `two runs: ${globex.d}`);

    await choose(page, '#meter-view select[name=windowTimeZone]', 'Asia/Kolkata');
    await choose(page, '#meter-view select[name=windowSize]', 'DAY');
    query = await shownQuery(page, ['windowTimeZone=Asia%2FKolkata', 'windowSize=DAY']);
    rows = await served('tokens', query);
    assertChartShows(await readChart(page, '#meter-view .chart-svg'), rows, ['subject', 'model'], 'daily in Kolkata');
    for (const row of rows) assert.match(row.windowStart, /T18:30:00/, 'Kolkata days start at 18:30 UTC');
    assert.match(await page.$eval('#meter-view table.numbers th', (th) => th.textContent), /Asia\/Kolkata/);

    await choose(page, '#meter-view select[name=windowTimeZone]', 'UTC');
    await choose(page, '#meter-view select[name=windowSize]', 'HOUR');
    await page.click('#meter-view input[name=groupBy][value=subject]');
    await page.type('#meter-view input[name=subject]', 'acme');
    await page.keyboard.press('Enter');
    query = await shownQuery(page, ['subject=acme', 'windowSize=HOUR', 'windowTimeZone']
      .filter((x) => x !== 'windowTimeZone'));
    assert.ok(!query.includes('windowTimeZone'), query);
    rows = await served('tokens', query);
    assert.ok(rows.every((r) => r.subject === 'acme'));
    assertChartShows(await readChart(page, '#meter-view .chart-svg'), rows, ['model'], 'acme by model');
    assertTableShows(await readTable(page), rows, ['model'], 'acme by model');
    assertNoProblems(page, 'meter view');
  });

  test('downloads the service\'s CSV of the numbers shown', T, async () => {
    const query = await shownQuery(page);
    await page.click('#meter-view .controls button.secondary');
    const downloads = page.downloadDir;
    const file = await eventually(() => readdirSync(downloads).find((f) => f.endsWith('.csv')),
      { timeoutMs: 30_000, what: 'the CSV download' });
    const r = await api(srv, 'GET', `/api/v1/meters/tokens/query?${query}`, { headers: { ...auth, Accept: 'text/csv' } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    assert.equal(readFileSync(path.join(downloads, file), 'utf8'), r.text);
    assert.match(file, /^tokens-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.csv$/);
    assert.ok(r.text.split('\n').length > 2);
    assertNoProblems(page, 'download');
  });

  test('shows a subject\'s v1 summary and history as the API answers them', T, async () => {
    await page.type('#subject-id', 'acme-user');
    await page.click('#subject-form button[type=submit]');
    await page.waitForSelector('#subject-output[data-state=ready]', WAIT);
    const query = await page.$eval('#subject-output', (el) => el.dataset.query);
    const params = new URLSearchParams(query);
    const period = `since=${encodeURIComponent(params.get('since'))}&until=${encodeURIComponent(params.get('until'))}`;
    const summary = (await api(srv, 'GET', `/v1/usage/acme-user?${period}`, { headers: auth })).json.data;
    const history = (await api(srv, 'GET', `/v1/usage/acme-user/history?${query}`, { headers: auth })).json.data;
    assert.equal(summary.totalEvents, 5);
    assert.match(await page.$eval('#subject-summary', (el) => el.textContent), /^acme-user: 5 events from /);
    const types = await page.$$eval('#subject-types tbody tr', (trs) => trs.map((tr) =>
      [tr.dataset.eventType, Number(tr.querySelector('td').dataset.value)]));
    assert.deepEqual(Object.fromEntries(types), summary.byEventType);
    const points = await page.$$eval('#subject-history tbody tr', (trs) => trs.map((tr) => ({
      timestamp: tr.dataset.timestamp, count: Number(tr.querySelector('td[data-value]').dataset.value),
    })));
    assert.deepEqual(points, history.dataPoints);
    assert.equal(points.length, 5);
    const chart = await readChart(page, '#history-chart .chart-svg');
    assertChartShows(chart, history.dataPoints.map((p) => ({
      windowStart: p.timestamp, value: p.count, subject: null, groupBy: {},
    })), [], 'v1 history', () => 'events');
    assertNoProblems(page, 'v1 usage');
  });

  test('refreshes without reloading the page', T, async () => {
    await page.evaluate(() => { window.notReloaded = true; });
    const before = await shownQuery(page);
    const now = Date.now();
    await ingest([{
      specversion: '1.0', id: 'late-1', source: 'browser-test', type: 'prompt', subject: 'acme',
      time: new Date(now - 60_000).toISOString(), data: { tokens: 1000, model: 'small' },
    }]);
    const updated = await page.$eval('#status', (el) => el.dataset.updated ?? '');
    await page.click('#refresh');
    await page.waitForFunction((was) => (document.querySelector('#status').dataset.updated ?? '') !== was, WAIT, updated);
    const query = await shownQuery(page);
    const rows = await served('tokens', query);
    assert.ok(rows.some((r) => r.value >= 1000), 'the new event is counted');
    assertChartShows(await readChart(page, '#meter-view .chart-svg'), rows, ['model'], 'after refresh');
    assertTableShows(await readTable(page), rows, ['model'], 'after refresh');
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
    assert.notEqual(query, '', before);
    assertNoProblems(page, 'refresh');
    await page.closeContext();
  });

  test('takes the key from the URL fragment, which never reaches the server', T, async () => {
    const p = await openPage(browser);
    await signInWithFragment(p);
    assert.equal(await p.evaluate(() => window.location.hash), '');
    assert.equal(await p.evaluate(() => window.location.href), `${srv.baseUrl}/dashboard`);
    assert.equal(await p.evaluate(() => sessionStorage.getItem('usage-metrics.api-key')), KEY);
    const requests = srv.logs.filter((l) => l.message === 'HTTP Request');
    assert.ok(requests.some((l) => l.path === '/dashboard'));
    assert.ok(requests.every((l) => !l.path.includes(KEY) && !l.path.includes('key=')), 'no request path carries the key');
    await p.click('#sign-out');
    await p.waitForSelector('#login:not([hidden])', WAIT);
    assert.equal(await p.evaluate(() => sessionStorage.getItem('usage-metrics.api-key')), null);
    assertNoProblems(p, 'fragment');
    await p.closeContext();
  });

  test('fits 375 px wide', T, async () => {
    const p = await openPage(browser, { width: 375, height: 812, mobile: true });
    await signInWithFragment(p);
    await p.click('#meter-view input[name=groupBy][value=model]');
    await shownQuery(p, ['groupBy=model']);
    await p.type('#subject-id', 'acme-user');
    await p.click('#subject-form button[type=submit]');
    await p.waitForSelector('#subject-output[data-state=ready]', WAIT);
    const widths = await p.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
      overflowing: [...document.querySelectorAll('input, select, button, svg.chart-svg, h1, h2, h3, p, legend, label')]
        .filter((el) => el.getClientRects().length && !el.closest('.table-wrap'))
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((el) => `${el.tagName}#${el.id}.${el.className?.baseVal ?? el.className}`),
    }));
    assert.equal(widths.viewport, 375);
    assert.ok(widths.page <= 375, `no sideways scrolling: the page is ${widths.page} px wide`);
    assert.deepEqual(widths.overflowing, []);
    const svgWidth = await p.$eval('#meter-view .chart-svg', (svg) => svg.getBoundingClientRect().width);
    assert.ok(svgWidth > 250 && svgWidth <= 375, `the chart fits: ${svgWidth}`);
    const query = await shownQuery(p);
    assertChartShows(await readChart(p, '#meter-view .chart-svg'), await served('tokens', query), ['model'], '375 px');
    await screenshot(p, 'dashboard-375');
    assertNoProblems(p, '375 px');
    await p.closeContext();
  });

  test('is reachable by keyboard, labels every control, and reads the chart aloud', T, async () => {
    const p = await openPage(browser);
    await signInWithFragment(p);
    await p.evaluate(() => document.activeElement?.blur());
    const reached = [];
    for (let i = 0; i < 60; i += 1) {
      await p.keyboard.press('Tab');
      reached.push(await p.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return 'body';
        const name = el.getAttribute('name');
        return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${name ? `[name=${name}]` : ''}`
          + `${el.value && el.type === 'checkbox' ? `[value=${el.value}]` : ''}${el.classList.contains('chart-svg') ? '.chart' : ''}`
          + `${el.tagName === 'BUTTON' ? `:${el.textContent.trim()}` : ''}`;
      }));
    }
    for (const wanted of ['a', 'button#refresh:Refresh now', 'input#auto-refresh', 'button:tokens', 'button:prompts',
      'select#meter-picker', '[name=range]', '[name=windowSize]', '[name=windowTimeZone]', 'input', '[name=subject]',
      '[name=groupBy][value=subject]', '[name=groupBy][value=model]', 'button:Show', 'button:Download CSV',
      'svg', '.chart', 'input#subject-id', 'select#subject-range', 'select#subject-interval', 'button#sign-out:Sign out']) {
      assert.ok(reached.some((r) => r.includes(wanted)), `Tab reaches ${wanted}: ${reached.join(' ')}`);
    }
    assert.equal(reached[0], 'a', 'the skip link comes first');
    const unlabelled = await p.evaluate(() => [...document.querySelectorAll('input, select, button, [role=region], svg[role=img]')]
      .filter((el) => el.getClientRects().length)
      .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
        || (el.tagName === 'BUTTON' && el.textContent.trim())))
      .map((el) => el.outerHTML.slice(0, 80)));
    assert.deepEqual(unlabelled, []);
    // The chart, focused, reads each window with the arrow keys.
    await p.$eval('#meter-view .chart-svg', (svg) => svg.focus());
    await p.keyboard.press('Home');
    const first = await p.$eval('#meter-view .chart-readout', (el) => el.textContent);
    const query = await shownQuery(p);
    const rows = await served('tokens', query);
    const earliest = rows.reduce((a, b) => (Date.parse(a.windowStart) <= Date.parse(b.windowStart) ? a : b));
    assert.match(first, new RegExp(`total: ${earliest.value.toLocaleString('en-US')}$`), first);
    await p.keyboard.press('ArrowRight');
    assert.notEqual(await p.$eval('#meter-view .chart-readout', (el) => el.textContent), first);
    assertNoProblems(p, 'keyboard');
    await p.closeContext();
  });
});
