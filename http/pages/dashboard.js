// The operator dashboard (GET /dashboard): the meters and their definitions,
// a meter's usage over time (meter-view.js), and a subject's v1 usage summary
// and history. The page itself is public and static; every number comes from
// the API with the operator's key, which is entered once (or given as
// `#key=…` in the URL fragment, which never reaches the server), kept in
// sessionStorage for this tab only, and sent as `Authorization: Bearer`.

import { createClient } from './api.js';
import { createChart, formatValue } from './chart.js';
import { h, replaceChildren } from './dom.js';
import { createMeterView } from './meter-view.js';
import { RANGES, historyToSeries, rangeEndingAt } from './series.js';
import { formatInstant } from './time.js';

const KEY_ITEM = 'usage-metrics.api-key';
const REFRESH_MS = 30_000;

const $ = (id) => document.getElementById(id);
const loginSection = $('login');
const loginForm = $('login-form');
const keyInput = $('api-key');
const loginMessage = $('login-message');
const app = $('app');
const status = $('status');

const storedKey = () => sessionStorage.getItem(KEY_ITEM);
const client = createClient({
  credential: () => storedKey() ?? '',
  onUnauthorized: () => signOut('The API key was refused. Enter a valid key.'),
});

// A key in the fragment (`/dashboard#key=…`) is taken once, then removed from
// the address bar and the history.
function takeKeyFromFragment() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (!fragment.has('key')) return;
  sessionStorage.setItem(KEY_ITEM, fragment.get('key').trim());
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
}

function signOut(message = '') {
  sessionStorage.removeItem(KEY_ITEM);
  stopAutoRefresh();
  app.hidden = true;
  $('sign-out').hidden = true;
  loginSection.hidden = false;
  loginMessage.textContent = message;
  keyInput.value = '';
  keyInput.focus();
}

// --- meters -------------------------------------------------------------------

let meters = [];
const meterPicker = $('meter-picker');
const view = createMeterView($('meter-view'), {
  client,
  queryPath: (m) => `/api/v1/meters/${encodeURIComponent(m.slug)}/query`,
  subjectsPath: (m) => `/api/v1/meters/${encodeURIComponent(m.slug)}/subjects`,
});

function groupByText(meter) {
  const entries = Object.entries(meter.groupBy ?? {});
  return entries.length ? entries.map(([key, path]) => `${key}: ${path}`).join(', ') : '–';
}

function renderMeters() {
  const table = $('meters-table');
  const rows = meters.map((m) => h('tr', { 'data-slug': m.slug },
    h('th', { scope: 'row' }, h('button', {
      type: 'button', class: 'link', 'aria-label': `Show the usage of ${m.slug}`,
      onclick: () => pickMeter(m.slug, true),
    }, m.slug)),
    h('td', {}, m.name ?? ''), h('td', {}, m.aggregation), h('td', {}, m.eventType),
    h('td', {}, h('code', {}, m.valueProperty ?? '–')), h('td', {}, groupByText(m)),
    h('td', {}, m.description ?? '')));
  replaceChildren(table.tBodies[0], rows.length ? rows
    : h('tr', {}, h('td', { colspan: 7 }, 'No meters yet: create one with POST /api/v1/meters or --meters.')));
  const current = meterPicker.value;
  replaceChildren(meterPicker, meters.map((m) => h('option', { value: m.slug }, m.slug)));
  if (meters.some((m) => m.slug === current)) meterPicker.value = current;
  $('meter-section').hidden = meters.length === 0;
}

async function loadMeters() {
  meters = await client.json('/api/v1/meters');
  renderMeters();
}

function pickMeter(slug, focus = false) {
  const meter = meters.find((m) => m.slug === slug);
  if (!meter) return undefined;
  meterPicker.value = slug;
  if (focus) meterPicker.focus();
  return view.setMeter(meter);
}

meterPicker.addEventListener('change', () => pickMeter(meterPicker.value));

// --- a subject's v1 usage -----------------------------------------------------------

const subjectForm = $('subject-form');
const subjectRange = $('subject-range');
const subjectInterval = $('subject-interval');
const subjectOut = $('subject-output');
const subjectMessage = $('subject-message');
const historyChart = createChart($('history-chart'), { label: 'Events per interval' });
replaceChildren(subjectRange, RANGES.map((r) => h('option', { value: r.id, selected: r.id === '24h' }, r.label)));
subjectRange.addEventListener('change', () => {
  subjectInterval.value = { '1h': 'minute', '24h': 'hour', '7d': 'hour' }[subjectRange.value] ?? 'day';
});

async function showSubject() {
  const entity = $('subject-id').value.trim();
  if (!entity) {
    subjectMessage.textContent = 'Enter a subject (entityId).';
    return;
  }
  const { from, to } = rangeEndingAt(subjectRange.value, Date.now());
  const interval = subjectInterval.value;
  const period = [['since', new Date(from).toISOString()], ['until', new Date(to - 1).toISOString()]];
  const path = `/v1/usage/${encodeURIComponent(entity)}`;
  subjectOut.dataset.state = 'loading';
  try {
    const [summary, history] = await Promise.all([
      client.json(path, period),
      client.json(`${path}/history`, [...period, ['interval', interval]]),
    ]);
    subjectMessage.textContent = '';
    const s = summary.data;
    $('subject-summary').textContent =
      `${s.entityId}: ${formatValue(s.totalEvents)} events from ${formatInstant(Date.parse(s.period.since), 'UTC')} ` +
      `to ${formatInstant(Date.parse(s.period.until), 'UTC')} UTC.`;
    const types = Object.entries(s.byEventType).sort((a, b) => b[1] - a[1]);
    replaceChildren($('subject-types').tBodies[0], types.length
      ? types.map(([type, count]) => h('tr', { 'data-event-type': type },
        h('th', { scope: 'row' }, type), h('td', { class: 'num', 'data-value': count }, formatValue(count))))
      : h('tr', {}, h('td', { colspan: 2 }, 'No events in this range')));
    const points = history.data.dataPoints;
    historyChart.draw({
      series: historyToSeries(points, interval), from, to, zone: 'UTC',
      windowSize: interval.toUpperCase(),
    });
    replaceChildren($('subject-history').tBodies[0], points.length
      ? points.map((p) => h('tr', { 'data-timestamp': p.timestamp },
        h('td', {}, h('time', { datetime: p.timestamp }, formatInstant(Date.parse(p.timestamp), 'UTC'))),
        h('td', { class: 'num', 'data-value': p.count }, formatValue(p.count))))
      : h('tr', {}, h('td', { colspan: 2 }, 'No events in this range')));
    subjectOut.hidden = false;
    subjectOut.dataset.entity = entity;
    subjectOut.dataset.query = new URLSearchParams([...period, ['interval', interval]]).toString();
    subjectOut.dataset.state = 'ready';
  } catch (err) {
    subjectMessage.textContent = `Could not read the usage of ${entity}: ${err.message}`;
    subjectOut.dataset.state = 'error';
  }
}

subjectForm.addEventListener('submit', (event) => {
  event.preventDefault();
  showSubject();
});

// --- refreshing ---------------------------------------------------------------------

let timer = 0;
const autoRefresh = $('auto-refresh');

async function refreshAll() {
  status.textContent = 'Refreshing…';
  try {
    await loadMeters();
    const current = meters.find((m) => m.slug === meterPicker.value) ?? meters[0];
    const shown = view.meter;
    if (current && (!shown || shown.slug !== current.slug)) await pickMeter(current.slug);
    else if (current) await view.refresh();
    if (!subjectOut.hidden) await showSubject();
    const now = new Date();
    status.textContent = `Updated at ${now.toISOString().slice(11, 19)} UTC`;
    $('status').dataset.updated = now.toISOString();
  } catch (err) {
    status.textContent = `Refresh failed: ${err.message}`;
  }
}

function stopAutoRefresh() {
  clearInterval(timer);
  timer = 0;
}

function startAutoRefresh() {
  stopAutoRefresh();
  if (autoRefresh.checked) {
    timer = setInterval(() => {
      if (!document.hidden) refreshAll();
    }, REFRESH_MS);
  }
}

autoRefresh.addEventListener('change', startAutoRefresh);
$('refresh').addEventListener('click', refreshAll);
$('sign-out').addEventListener('click', () => signOut('Signed out.'));

// --- signing in -------------------------------------------------------------------

async function enter() {
  loginSection.hidden = true;
  app.hidden = false;
  $('sign-out').hidden = false;
  await refreshAll();
  startAutoRefresh();
}

loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  loginMessage.textContent = 'Checking the key…';
  sessionStorage.setItem(KEY_ITEM, key);
  try {
    await client.json('/api/v1/meters');
  } catch (err) {
    if (err.status !== 401) {
      sessionStorage.removeItem(KEY_ITEM);
      loginMessage.textContent = `The service could not be asked: ${err.message}`;
    }
    return;
  }
  keyInput.value = '';
  loginMessage.textContent = '';
  await enter();
  $('main').focus();
});

window.addEventListener('hashchange', () => {
  if (!new URLSearchParams(window.location.hash.slice(1)).has('key')) return;
  takeKeyFromFragment();
  enter();
});

takeKeyFromFragment();
if (storedKey() === null) signOut();
else enter();

document.documentElement.dataset.ready = 'true';
