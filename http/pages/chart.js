// The usage chart: windows of usage over time, one line per series, drawn as
// SVG by hand. No chart library: the pages need one kind of chart, SVG is
// styled by the pages' own stylesheet (no inline style, which the pages'
// Content-Security-Policy refuses), scales with the page, and its points are
// elements that carry their numbers (`data-start`, `data-value`), which
// screen readers, keyboard users and the browser tests can all read.
//
//   const chart = createChart(container, { label: 'Usage of tokens' });
//   chart.draw({ series, from, to, zone, windowSize });
//
// `series` is [{ name, points: [{ start, end, value }] }] with instants in ms
// (series.js makes it from a meter query's rows). A window with no usage has
// no point, and the line breaks there rather than drawing a value nobody
// measured. Above MAX_SERIES series the largest are drawn and the rest named
// in a note (the table beside the chart lists every row).

import { h, newId, replaceChildren, s } from './dom.js';
import { formatInstant, timeTicks } from './time.js';

/** How many series a chart draws at most. */
export const MAX_SERIES = 8;
/** Above this many points in all, lines are drawn without a marker per point. */
export const MAX_MARKERS = 1500;

const HEIGHT = 260;
const MARGIN = { top: 14, right: 14, bottom: 30 };

/** Round numbers for an axis over [min, max]: about `count` ticks. */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) {
    if (min === 0 && max === 0) return niceTicks(0, 1, count);
    const pad = Math.abs(min) || 1;
    return niceTicks(Math.min(0, min - pad), Math.max(0, max + pad), count);
  }
  const rough = (max - min) / Math.max(count, 1);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((x) => x >= rough);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { min: lo, max: hi, step, ticks };
}

const full = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });

/** A value as the table and the readout show it: `12,345.5`. */
export const formatValue = (v) => (v === null || v === undefined ? '–' : full.format(v));
/** A value as an axis shows it: `12.3K`. */
export const formatAxisValue = (v) => compact.format(v);

/** The y domain of `series`: from zero (or below, for negative values) to a round maximum. */
export function valueDomain(series) {
  let lo = 0;
  let hi = 0;
  for (const one of series) {
    for (const p of one.points) {
      lo = Math.min(lo, p.value);
      hi = Math.max(hi, p.value);
    }
  }
  return niceTicks(lo, hi, 5);
}

/**
 * The runs of consecutive windows of one series' points (a window ends where
 * the next starts): the line is drawn through each run and broken between.
 */
export function runsOf(points) {
  const runs = [];
  let run = [];
  for (const p of points) {
    if (run.length && run[run.length - 1].end !== p.start) {
      runs.push(run);
      run = [];
    }
    run.push(p);
  }
  if (run.length) runs.push(run);
  return runs;
}

/** A chart in `container`, labelled `label` for screen readers. */
export function createChart(container, { label }) {
  const titleId = newId('chart-title');
  const readoutId = newId('chart-readout');
  const svg = s('svg', {
    class: 'chart-svg', role: 'img', tabindex: 0, 'aria-labelledby': titleId,
    'aria-describedby': readoutId, focusable: 'true',
  });
  const title = s('title', { id: titleId });
  const legend = h('ul', { class: 'legend', 'aria-label': 'Series' });
  const note = h('p', { class: 'chart-note' });
  const readout = h('p', { class: 'chart-readout', id: readoutId, 'aria-live': 'polite' });
  const figure = h('figure', { class: 'chart' }, svg, legend, note, readout);
  container.append(figure);

  let spec = null;
  let geometry = null;
  let cursor = -1;

  function draw(next) {
    spec = next;
    cursor = -1;
    render();
  }

  function render() {
    if (!spec) return;
    const width = Math.max(280, Math.floor(container.clientWidth || 640));
    const drawn = spec.series.slice(0, MAX_SERIES);
    const domain = valueDomain(drawn);
    const yLabels = domain.ticks.map(formatAxisValue);
    const left = 12 + 7 * Math.max(...yLabels.map((l) => l.length));
    const plot = { left, right: width - MARGIN.right, top: MARGIN.top, bottom: HEIGHT - MARGIN.bottom };
    let xMin = spec.from;
    let xMax = spec.to;
    for (const one of drawn) {
      for (const p of one.points) {
        xMin = Math.min(xMin, p.start);
        xMax = Math.max(xMax, p.start);
      }
    }
    if (!(xMax > xMin)) xMax = xMin + 1;
    const x = (t) => plot.left + ((t - xMin) / (xMax - xMin)) * (plot.right - plot.left);
    const y = (v) => plot.bottom - ((v - domain.min) / (domain.max - domain.min)) * (plot.bottom - plot.top);
    const round = (n) => Math.round(n * 100) / 100;
    geometry = { x, y, drawn };

    const grid = s('g', { class: 'grid', 'aria-hidden': 'true' });
    domain.ticks.forEach((v, i) => {
      grid.append(
        s('line', { x1: plot.left, x2: plot.right, y1: round(y(v)), y2: round(y(v)), class: v === 0 ? 'zero' : '' }),
        s('text', { x: plot.left - 6, y: round(y(v)), class: 'y-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, yLabels[i]),
      );
    });
    const maxTicks = Math.max(2, Math.floor((plot.right - plot.left) / 90));
    for (const tick of timeTicks(xMin, xMax, spec.zone, maxTicks)) {
      grid.append(
        s('line', { x1: round(x(tick.t)), x2: round(x(tick.t)), y1: plot.bottom, y2: plot.bottom + 5, class: 'tick' }),
        s('text', { x: round(x(tick.t)), y: plot.bottom + 18, class: 'x-label', 'text-anchor': 'middle' }, tick.label),
      );
    }

    const total = drawn.reduce((n, one) => n + one.points.length, 0);
    const markers = total <= MAX_MARKERS;
    const lines = drawn.map((one, i) => {
      const g = s('g', { class: `series series-${i % MAX_SERIES}`, 'data-series': one.name });
      const d = runsOf(one.points)
        .map((run) => run.map((p, j) => `${j ? 'L' : 'M'}${round(x(p.start))},${round(y(p.value))}`).join('') +
          (run.length === 1 ? 'h0' : ''))
        .join('');
      g.append(s('path', { class: 'line', d }));
      if (markers) {
        for (const p of one.points) {
          g.append(s('circle', {
            class: 'point', r: 3, cx: round(x(p.start)), cy: round(y(p.value)),
            'data-start': new Date(p.start).toISOString(), 'data-value': p.value,
          }));
        }
      }
      return g;
    });
    const cursorLine = s('line', { class: 'cursor', y1: plot.top, y2: plot.bottom, x1: -10, x2: -10 });
    const empty = total === 0
      ? s('text', { x: (plot.left + plot.right) / 2, y: (plot.top + plot.bottom) / 2, class: 'empty', 'text-anchor': 'middle' },
        'No usage in this range')
      : null;

    title.textContent = `${label}: ${describe(spec, drawn, total)}`;
    for (const [name, value] of Object.entries({
      width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`,
      'data-y-min': domain.min, 'data-y-max': domain.max, 'data-x-min': xMin, 'data-x-max': xMax,
      'data-plot-left': plot.left, 'data-plot-right': plot.right, 'data-plot-top': plot.top,
      'data-plot-bottom': plot.bottom, 'data-series-count': spec.series.length,
    })) svg.setAttribute(name, value);
    replaceChildren(svg, title, grid, ...lines, cursorLine, empty);

    replaceChildren(legend, drawn.map((one, i) =>
      h('li', {}, h('span', { class: `swatch series-${i % MAX_SERIES}`, 'aria-hidden': 'true' }), one.name)));
    legend.hidden = drawn.length <= 1 && spec.series.length <= 1;
    note.textContent = spec.series.length > drawn.length
      ? `The ${drawn.length} largest of ${spec.series.length} series are drawn; the table lists them all.`
      : '';
    readout.textContent = total ? 'Use the arrow keys on the chart to read each window.' : '';
  }

  // The windows of the drawn series, in time order, for the cursor.
  function windowStarts() {
    const starts = new Set();
    for (const one of geometry?.drawn ?? []) for (const p of one.points) starts.add(p.start);
    return [...starts].sort((a, b) => a - b);
  }

  function showCursor(index) {
    const starts = windowStarts();
    if (!starts.length) return;
    cursor = Math.max(0, Math.min(index, starts.length - 1));
    const t = starts[cursor];
    const line = svg.querySelector('.cursor');
    const px = Math.round(geometry.x(t) * 100) / 100;
    line.setAttribute('x1', px);
    line.setAttribute('x2', px);
    const values = geometry.drawn
      .map((one) => [one.name, one.points.find((p) => p.start === t)])
      .filter(([, p]) => p)
      .map(([name, p]) => `${name}: ${formatValue(p.value)}`);
    readout.textContent = `${formatInstant(t, spec.zone, spec.windowSize)} — ${values.join('; ')}`;
  }

  svg.addEventListener('keydown', (event) => {
    const last = windowStarts().length - 1;
    const moves = { ArrowRight: cursor + 1, ArrowLeft: cursor < 0 ? last : cursor - 1, Home: 0, End: last };
    if (!(event.key in moves)) return;
    event.preventDefault();
    showCursor(moves[event.key]);
  });
  svg.addEventListener('pointermove', (event) => {
    if (!geometry) return;
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * Number(svg.getAttribute('width'));
    const starts = windowStarts();
    let best = -1;
    starts.forEach((t, i) => {
      if (best < 0 || Math.abs(geometry.x(t) - px) < Math.abs(geometry.x(starts[best]) - px)) best = i;
    });
    if (best >= 0) showCursor(best);
  });

  let pending = 0;
  const resize = new ResizeObserver(() => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      const keep = cursor;
      render();
      if (keep >= 0) showCursor(keep);
    });
  });
  resize.observe(container);

  return { draw, element: figure };
}

function describe(spec, drawn, total) {
  if (!total) return 'no usage in this range.';
  const windows = new Set(drawn.flatMap((one) => one.points.map((p) => p.start)));
  return `${spec.series.length} series, ${windows.size} windows of ${spec.windowSize.toLowerCase()}, ` +
    `${formatInstant(spec.from, spec.zone)} to ${formatInstant(spec.to, spec.zone)} (${spec.zone}). ` +
    'The table below lists every number.';
}
