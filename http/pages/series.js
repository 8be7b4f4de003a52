// A meter query's rows as the chart and the table show them. Pure: no DOM, so
// it is unit-tested under Node (tests/pages).

/** The value of group-by key `key` in a row: its subject or one of its groupBy values. */
export function groupValue(row, key) {
  const value = key === 'subject' ? row.subject : row.groupBy?.[key];
  return value === undefined ? null : value;
}

/** The name of a series: `model=gpt-4, subject=acme`, or `total` without group-by. */
export function seriesName(groupBy, values) {
  if (!groupBy.length) return 'total';
  return groupBy.map((key, i) => `${key}=${values[i] ?? '(none)'}`).join(', ');
}

/**
 * One series per distinct combination of the `groupBy` values, each with its
 * points in time order (`start`, `end` in ms, `value`), the largest series
 * (by the sum of its values) first, ties by name.
 */
export function rowsToSeries(rows, groupBy) {
  const byKey = new Map();
  for (const row of rows) {
    const values = groupBy.map((key) => groupValue(row, key));
    const key = JSON.stringify(values);
    let one = byKey.get(key);
    if (!one) {
      one = { name: seriesName(groupBy, values), values, points: [], total: 0 };
      byKey.set(key, one);
    }
    one.points.push({ start: Date.parse(row.windowStart), end: Date.parse(row.windowEnd), value: row.value });
    one.total += Math.abs(row.value);
  }
  const series = [...byKey.values()];
  for (const one of series) one.points.sort((a, b) => a.start - b.start);
  series.sort((a, b) => b.total - a.total || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return series;
}

/**
 * The table of a query's rows: `columns` (window start and end, each
 * group-by key, value) and `rows` in time order, then in the order of the
 * series they belong to.
 */
export function tableOf(rows, groupBy) {
  const order = new Map(rowsToSeries(rows, groupBy).map((one, i) => [JSON.stringify(one.values), i]));
  const sorted = rows
    .map((row) => ({ row, start: Date.parse(row.windowStart), rank: order.get(JSON.stringify(groupBy.map((k) => groupValue(row, k)))) }))
    .sort((a, b) => a.start - b.start || a.rank - b.rank);
  return {
    columns: ['windowStart', 'windowEnd', ...groupBy, 'value'],
    rows: sorted.map(({ row }) => ({
      windowStart: row.windowStart,
      windowEnd: row.windowEnd,
      groups: groupBy.map((key) => groupValue(row, key)),
      value: row.value,
    })),
  };
}

/** The v1 history's data points as one series of windows of `interval` (minute, hour, day). */
export function historyToSeries(dataPoints, interval) {
  const length = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[interval] ?? 3_600_000;
  const points = dataPoints.map((p) => {
    const start = Date.parse(p.timestamp);
    return { start, end: start + length, value: p.count };
  });
  points.sort((a, b) => a.start - b.start);
  return points.length ? [{ name: 'events', values: [], points, total: points.reduce((n, p) => n + p.value, 0) }] : [];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The ranges a page offers, with the window size each suggests. */
export const RANGES = [
  { id: '1h', label: 'Last hour', length: HOUR, window: 'MINUTE' },
  { id: '24h', label: 'Last 24 hours', length: DAY, window: 'HOUR' },
  { id: '7d', label: 'Last 7 days', length: 7 * DAY, window: 'HOUR' },
  { id: '30d', label: 'Last 30 days', length: 30 * DAY, window: 'DAY' },
  { id: '365d', label: 'Last 12 months', length: 365 * DAY, window: 'MONTH' },
];

/** The window sizes of a meter query. */
export const WINDOW_SIZES = ['MINUTE', 'HOUR', 'DAY', 'MONTH'];

/**
 * [from, to) of range `id` ending at `now`, to the second (the service
 * compares to the second): `to` is `now` rounded up to the next whole second.
 */
export function rangeEndingAt(id, now) {
  const range = RANGES.find((r) => r.id === id) ?? RANGES[1];
  const to = Math.ceil(now / 1000) * 1000;
  return { from: to - range.length, to };
}

/** The subjects typed in a filter field: comma- or whitespace-separated, trimmed, unique. */
export function parseSubjects(text) {
  return [...new Set(String(text ?? '').split(/[,\s]+/).map((x) => x.trim()).filter(Boolean))];
}

/**
 * The query-string pairs of a meter query: from, to, windowSize,
 * windowTimeZone, each subject, each groupBy (`subject` added when several
 * subjects are asked for, as the service requires).
 */
export function meterQueryParams({ from, to, windowSize, zone, subjects = [], groupBy = [] }) {
  const pairs = [
    ['from', new Date(from).toISOString().replace('.000Z', 'Z')],
    ['to', new Date(to).toISOString().replace('.000Z', 'Z')],
  ];
  if (windowSize) pairs.push(['windowSize', windowSize]);
  if (zone && zone !== 'UTC') pairs.push(['windowTimeZone', zone]);
  for (const subject of subjects) pairs.push(['subject', subject]);
  const keys = subjects.length > 1 && !groupBy.includes('subject') ? ['subject', ...groupBy] : groupBy;
  for (const key of keys) pairs.push(['groupBy', key]);
  return pairs;
}
