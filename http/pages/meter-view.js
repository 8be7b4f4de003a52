// A meter's usage over time: controls (range, window size, time zone, subject
// filter, group-by), the chart, the numbers as a table, and the same rows as
// CSV from the service. The operator dashboard shows any meter and subject;
// a customer's page can show one subject's allowed meters with the same
// component, by giving it that subject and its own query path.
//
//   const view = createMeterView(element, {
//     client,                                  // api.js
//     queryPath: (meter) => `/api/v1/meters/${…}/query`,
//     subjectsPath: (meter) => `/api/v1/meters/${…}/subjects`,  // or null: no suggestions
//     fixedSubject: null,                      // or the one subject shown (no filter, no group-by on it)
//   });
//   view.setMeter(meter);                      // a meter definition, as GET /api/v1/meters lists it
//   view.refresh();                            // again, e.g. every 30 s: a moving range moves
//
// The element's `data-state` is `loading`, `ready` or `error`, and
// `data-query` the query string of the numbers shown.

import { ApiError } from './api.js';
import { createChart, formatValue } from './chart.js';
import { h, newId, replaceChildren } from './dom.js';
import {
  RANGES, WINDOW_SIZES, meterQueryParams, parseSubjects, rangeEndingAt, rowsToSeries, tableOf,
} from './series.js';
import { formatInstant, fromLocalInput, ianaName, isKnownZone, toLocalInput } from './time.js';

/** Rows the table shows at most; the CSV has them all. */
export const MAX_TABLE_ROWS = 2000;

function zoneChoices() {
  const browser = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const names = ['UTC', browser, ...all].filter(Boolean).map(ianaName);
  return [...new Set(names.filter((z) => isKnownZone(z)))];
}

function field(labelText, control, hint) {
  const id = control.id || newId('field');
  control.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), control, hintEl);
}

function select(name, options, value) {
  return h('select', { name },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

export function createMeterView(root, { client, queryPath, subjectsPath = null, fixedSubject = null }) {
  let meter = null;
  let sequence = 0;
  let shown = null; // { pairs, meter } of the numbers on screen

  const heading = h('h3', { class: 'meter-title' }, 'No meter');
  const definition = h('p', { class: 'meter-definition' });
  const range = select('range', [...RANGES.map((r) => [r.id, r.label]), ['custom', 'Custom range']], '24h');
  const from = h('input', { type: 'datetime-local', name: 'from', step: 60 });
  const to = h('input', { type: 'datetime-local', name: 'to', step: 60 });
  const custom = h('div', { class: 'custom-range', hidden: true },
    field('From', from), field('To', to));
  const windowSize = select('windowSize', WINDOW_SIZES.map((w) => [w, w.charAt(0) + w.slice(1).toLowerCase()]), 'HOUR');
  const zone = select('windowTimeZone', zoneChoices().map((z) => [z, z]), 'UTC');
  const subjectsList = h('datalist', { id: newId('subjects') });
  const subject = h('input', {
    type: 'text', name: 'subject', autocomplete: 'off', spellcheck: 'false', list: subjectsList.id,
  });
  const groupLegend = h('legend', {}, 'Group by');
  const groupBox = h('fieldset', { class: 'group-by' }, groupLegend);
  const show = h('button', { type: 'submit' }, 'Show');
  const download = h('button', { type: 'button', class: 'secondary' }, 'Download CSV');
  const form = h('form', { class: 'controls', 'aria-label': 'Query' },
    field('Range', range), custom, field('Window', windowSize), field('Time zone', zone),
    fixedSubject ? null : field('Subjects', subject, 'Optional; several separated by commas'),
    subjectsList, groupBox, h('div', { class: 'actions' }, show, download));
  const message = h('p', { class: 'message', role: 'alert' });
  const chartBox = h('div', { class: 'chart-box' });
  const captionId = newId('caption');
  const table = h('table', { class: 'numbers' });
  const tableNote = h('p', { class: 'table-note' });
  const tableWrap = h('div', { class: 'table-wrap', role: 'region', tabindex: 0, 'aria-labelledby': captionId }, table);
  root.classList.add('meter-view');
  root.append(heading, definition, form, message, chartBox, tableNote, tableWrap);
  const chart = createChart(chartBox, { label: 'Usage over time' });
  root.dataset.state = 'idle';

  function currentRange() {
    if (range.value !== 'custom') return rangeEndingAt(range.value, Date.now());
    return { from: fromLocalInput(from.value, zone.value), to: fromLocalInput(to.value, zone.value) };
  }

  function groupBy() {
    return [...groupBox.querySelectorAll('input:checked')].map((box) => box.value);
  }

  function params() {
    const { from: start, to: end } = currentRange();
    if (!Number.isFinite(start) || !Number.isFinite(end)) throw new ApiError(0, 'Give both ends of the custom range');
    if (start >= end) throw new ApiError(0, 'The range must start before it ends');
    const subjects = fixedSubject ? [fixedSubject] : parseSubjects(subject.value);
    return {
      from: start, to: end, windowSize: windowSize.value, zone: zone.value, subjects, groupBy: groupBy(),
    };
  }

  function renderTable(query, rows) {
    const model = tableOf(rows, query.groupBy);
    const zoneName = query.zone;
    const head = h('tr', {},
      h('th', { scope: 'col' }, `Window start (${zoneName})`),
      h('th', { scope: 'col' }, 'Window end'),
      query.groupBy.map((key) => h('th', { scope: 'col' }, key)),
      h('th', { scope: 'col', class: 'num' }, 'Value'));
    const body = model.rows.slice(0, MAX_TABLE_ROWS).map((row) => {
      const start = Date.parse(row.windowStart);
      const end = Date.parse(row.windowEnd);
      return h('tr', { 'data-window-start': row.windowStart },
        h('td', {}, h('time', { datetime: row.windowStart }, formatInstant(start, zoneName, query.windowSize))),
        h('td', {}, h('time', { datetime: row.windowEnd }, formatInstant(end, zoneName, query.windowSize))),
        row.groups.map((value) => h('td', { 'data-group': value ?? '' }, value ?? '(none)')),
        h('td', { class: 'num', 'data-value': row.value }, formatValue(row.value)));
    });
    replaceChildren(table,
      h('caption', { id: captionId }, `${meter.name || meter.slug}: ${model.rows.length} rows`),
      h('thead', {}, head),
      h('tbody', {}, body.length ? body : h('tr', {}, h('td', { colspan: 3 + query.groupBy.length }, 'No usage in this range'))));
    tableNote.textContent = model.rows.length > MAX_TABLE_ROWS
      ? `The first ${MAX_TABLE_ROWS} of ${model.rows.length} rows are shown; the CSV has them all.`
      : '';
  }

  async function refresh() {
    if (!meter) return;
    const mine = ++sequence;
    let query;
    try {
      query = params();
    } catch (err) {
      message.textContent = err.message;
      root.dataset.state = 'error';
      return;
    }
    const pairs = meterQueryParams(query);
    if (pairs.some(([k, v]) => k === 'groupBy' && v === 'subject')) {
      const box = groupBox.querySelector('input[value="subject"]');
      if (box) box.checked = true;
      query.groupBy = pairs.filter(([k]) => k === 'groupBy').map(([, v]) => v);
    }
    root.dataset.state = 'loading';
    chartBox.setAttribute('aria-busy', 'true');
    try {
      const answer = await client.json(queryPath(meter), pairs);
      if (mine !== sequence) return;
      message.textContent = '';
      chart.draw({
        series: rowsToSeries(answer.data, query.groupBy), from: query.from, to: query.to,
        zone: query.zone, windowSize: query.windowSize,
      });
      renderTable(query, answer.data);
      shown = { pairs, meter };
      root.dataset.query = new URLSearchParams(pairs).toString();
      root.dataset.state = 'ready';
    } catch (err) {
      if (mine !== sequence) return;
      message.textContent = `Could not query ${meter.slug}: ${err.message}`;
      root.dataset.state = 'error';
    } finally {
      if (mine === sequence) chartBox.removeAttribute('aria-busy');
    }
  }

  async function downloadCsv() {
    if (!shown) return;
    try {
      const text = await client.csv(queryPath(shown.meter), shown.pairs);
      const blob = new Blob([text], { type: 'text/csv' });
      const url = URL.createObjectURL(blob);
      const stamp = (name) => shown.pairs.find(([k]) => k === name)?.[1].replace(/[^0-9A-Za-z]/g, '') ?? '';
      const link = h('a', { href: url, download: `${shown.meter.slug}-${stamp('from')}-${stamp('to')}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      message.textContent = '';
    } catch (err) {
      message.textContent = `Could not download the CSV: ${err.message}`;
    }
  }

  async function loadSubjects() {
    replaceChildren(subjectsList);
    if (!subjectsPath || fixedSubject) return;
    const forMeter = meter;
    try {
      const subjects = await client.json(subjectsPath(meter));
      if (forMeter !== meter) return;
      replaceChildren(subjectsList, subjects.slice(0, 500).map((x) => h('option', { value: x })));
    } catch {
      // Suggestions only: the field takes any subject.
    }
  }

  function setMeter(next) {
    meter = next;
    heading.textContent = meter.name && meter.name !== meter.slug ? `${meter.name} (${meter.slug})` : meter.slug;
    // A portal's meters come without their event type and paths.
    const parts = [meter.eventType ? `${meter.aggregation} of` : meter.aggregation,
      meter.valueProperty ? `${meter.valueProperty} in` : '', meter.eventType ? `${meter.eventType} events` : ''];
    definition.textContent = parts.filter(Boolean).join(' ') + (meter.description ? ` — ${meter.description}` : '');
    const keys = [...(fixedSubject ? [] : ['subject']), ...Object.keys(meter.groupBy ?? {})];
    replaceChildren(groupBox, groupLegend, keys.length
      ? keys.map((key) => {
        const box = h('input', { type: 'checkbox', name: 'groupBy', value: key, id: newId('group') });
        box.addEventListener('change', refresh);
        return h('label', { class: 'check', for: box.id }, box, key);
      })
      : h('span', { class: 'hint' }, 'This meter has no group-by keys'));
    shown = null;
    loadSubjects();
    return refresh();
  }

  range.addEventListener('change', () => {
    const preset = RANGES.find((r) => r.id === range.value);
    custom.hidden = range.value !== 'custom';
    if (preset) windowSize.value = preset.window;
    else {
      const now = rangeEndingAt('24h', Date.now());
      from.value = from.value || toLocalInput(now.from, zone.value);
      to.value = to.value || toLocalInput(now.to, zone.value);
    }
    if (range.value !== 'custom') refresh();
  });
  for (const control of [windowSize, zone]) control.addEventListener('change', refresh);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    refresh();
  });
  download.addEventListener('click', downloadCsv);

  return { setMeter, refresh, element: root, get meter() { return meter; } };
}
