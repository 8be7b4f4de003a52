// The customer portal (GET /portal): one subject's usage of the meters its
// portal token allows, this month's totals and a chart over time (the
// dashboard's meter view, fixed to that subject). The token is given as
// `#token=…` in the URL fragment (never sent to the server in a URL), kept
// in sessionStorage for this tab, and sent as `Authorization: Bearer`; the
// service answers that subject's usage only, whatever the page asks.

import { createClient } from './api.js';
import { formatValue } from './chart.js';
import { h, replaceChildren } from './dom.js';
import { createMeterView } from './meter-view.js';
import { meterQueryParams } from './series.js';
import { instantOf, wallTime } from './time.js';

const TOKEN_ITEM = 'usage-metrics.portal-token';
const $ = (id) => document.getElementById(id);

function showNoToken(message) {
  $('app').hidden = true;
  $('no-token').hidden = false;
  $('no-token-message').textContent = message;
}

const client = createClient({
  credential: () => sessionStorage.getItem(TOKEN_ITEM) ?? '',
  onUnauthorized: () => {
    sessionStorage.removeItem(TOKEN_ITEM);
    showNoToken('This access link is no longer valid (it expired or was revoked).');
  },
});

/** The subject a token names: its claims are readable (they are signed, not secret). */
export function tokenSubject(token) {
  const payload = /^om_portal_([A-Za-z0-9_-]+)\./.exec(token ?? '')?.[1];
  if (!payload) return null;
  try {
    const text = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)).sub ?? null;
  } catch {
    return null;
  }
}

function takeTokenFromFragment() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (!fragment.has('token')) return;
  sessionStorage.setItem(TOKEN_ITEM, fragment.get('token').trim());
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
}

takeTokenFromFragment();

let meters = [];
const picker = $('meter-picker');
const view = createMeterView($('meter-view'), {
  client,
  queryPath: (m) => `/api/v1/portal/meters/${encodeURIComponent(m.slug)}/query`,
  fixedSubject: tokenSubject(sessionStorage.getItem(TOKEN_ITEM)) ?? '',
});

// This month in UTC, from its first instant to now (whole seconds).
function currentPeriod(now) {
  const w = wallTime(now, 'UTC');
  return { from: instantOf({ year: w.year, month: w.month, day: 1 }, 'UTC'), to: Math.ceil(now / 1000) * 1000 };
}

async function loadPeriod() {
  const { from, to } = currentPeriod(Date.now());
  const rows = await Promise.all(meters.map(async (m) => {
    const answer = await client.json(`/api/v1/portal/meters/${encodeURIComponent(m.slug)}/query`,
      meterQueryParams({ from, to }));
    const total = answer.data.reduce((sum, row) => sum + row.value, 0);
    return h('tr', { 'data-slug': m.slug },
      h('th', { scope: 'row' }, m.name && m.name !== m.slug ? `${m.name} (${m.slug})` : m.slug),
      h('td', { class: 'num', 'data-value': total }, formatValue(total)));
  }));
  replaceChildren($('period-table').tBodies[0], rows.length ? rows
    : h('tr', {}, h('td', { colspan: 2 }, 'No meters are shared with you.')));
  $('period-table').dataset.from = new Date(from).toISOString();
  $('period-table').dataset.to = new Date(to).toISOString();
}

function pick(slug) {
  const meter = meters.find((m) => m.slug === slug);
  if (!meter) return undefined;
  picker.value = slug;
  return view.setMeter({ ...meter, groupBy: Object.fromEntries(meter.groupBy.map((k) => [k, k])) });
}

picker.addEventListener('change', () => pick(picker.value));

async function refresh() {
  $('status').textContent = 'Refreshing…';
  try {
    meters = await client.json('/api/v1/portal/meters');
    const current = picker.value;
    replaceChildren(picker, meters.map((m) => h('option', { value: m.slug }, m.name || m.slug)));
    $('meter-section').hidden = meters.length === 0;
    await loadPeriod();
    const keep = meters.find((m) => m.slug === current) ?? meters[0];
    if (keep && view.meter?.slug === keep.slug) {
      picker.value = keep.slug;
      await view.refresh();
    } else if (keep) {
      await pick(keep.slug);
    }
    const now = new Date();
    $('status').textContent = `Updated at ${now.toISOString().slice(11, 19)} UTC`;
    $('status').dataset.updated = now.toISOString();
  } catch (err) {
    if (err.status !== 401) $('status').textContent = `Refresh failed: ${err.message}`;
  }
}

$('refresh').addEventListener('click', refresh);

// A new link opened in this tab (only the fragment changed): start over with its token.
window.addEventListener('hashchange', () => {
  if (!new URLSearchParams(window.location.hash.slice(1)).has('token')) return;
  takeTokenFromFragment();
  window.location.reload();
});

const token = sessionStorage.getItem(TOKEN_ITEM);
const subject = tokenSubject(token);
if (!subject) {
  showNoToken(token ? 'This access link is not valid.' : '');
} else {
  $('subject-name').textContent = subject;
  $('app').hidden = false;
  refresh();
}
document.documentElement.dataset.ready = 'true';
