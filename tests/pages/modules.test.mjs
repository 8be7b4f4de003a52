// The pages' pure modules (http/pages/*.js) under Node: time zones, tick
// placement, rows to series, query strings, error messages. The browser test
// (tests/browser) checks the same modules drawing in Chromium.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { errorMessage, withQuery } from '../../http/pages/api.js';
import { niceTicks, runsOf, valueDomain } from '../../http/pages/chart.js';
import {
  historyToSeries, meterQueryParams, parseSubjects, rangeEndingAt, rowsToSeries, tableOf,
} from '../../http/pages/series.js';
import {
  formatInstant, fromLocalInput, ianaName, instantOf, timeTicks, toLocalInput, wallTime, zoneOffset,
} from '../../http/pages/time.js';

const at = (iso) => Date.parse(iso);

describe('time', () => {
  test('wall time and offsets follow the zone, across daylight saving', () => {
    assert.deepEqual(wallTime(at('2024-03-31T00:30:00Z'), 'Europe/Berlin'),
      { year: 2024, month: 3, day: 31, hour: 1, minute: 30, second: 0 });
    assert.equal(zoneOffset(at('2024-03-31T00:30:00Z'), 'Europe/Berlin'), 3_600_000);
    assert.equal(zoneOffset(at('2024-03-31T01:30:00Z'), 'Europe/Berlin'), 7_200_000);
    assert.equal(zoneOffset(at('2024-01-01T00:00:00Z'), 'Asia/Kolkata'), 5.5 * 3_600_000);
    assert.equal(zoneOffset(at('2024-01-01T00:00:00Z'), 'UTC'), 0);
  });

  test('a wall time names its instant; a skipped or repeated hour reads as Temporal\'s compatible rule', () => {
    assert.equal(instantOf({ year: 2024, month: 3, day: 31 }, 'Europe/Berlin'), at('2024-03-30T23:00:00Z'));
    assert.equal(instantOf({ year: 2024, month: 4, day: 1 }, 'Europe/Berlin'), at('2024-03-31T22:00:00Z'));
    // 02:30 does not exist in Berlin on 2024-03-31: it is read as 03:30.
    assert.equal(instantOf({ year: 2024, month: 3, day: 31, hour: 2, minute: 30 }, 'Europe/Berlin'),
      at('2024-03-31T01:30:00Z'));
    // 02:30 happens twice on 2024-10-27: the earlier one.
    assert.equal(instantOf({ year: 2024, month: 10, day: 27, hour: 2, minute: 30 }, 'Europe/Berlin'),
      at('2024-10-27T00:30:00Z'));
    assert.equal(instantOf({ year: 2024, month: 13, day: 1 }, 'UTC'), at('2025-01-01T00:00:00Z'));
  });

  test('zones are offered by their current IANA names', () => {
    assert.equal(ianaName('Asia/Calcutta'), 'Asia/Kolkata');
    assert.equal(ianaName('Europe/Kiev'), 'Europe/Kyiv');
    assert.equal(ianaName('Europe/Berlin'), 'Europe/Berlin');
  });

  test('datetime-local values round-trip in the zone', () => {
    const t = at('2024-06-01T10:15:00Z');
    assert.equal(toLocalInput(t, 'America/New_York'), '2024-06-01T06:15');
    assert.equal(fromLocalInput('2024-06-01T06:15', 'America/New_York'), t);
    assert.equal(fromLocalInput('2024-06-01T06:15:30', 'UTC'), at('2024-06-01T06:15:30Z'));
    assert.ok(Number.isNaN(fromLocalInput('yesterday', 'UTC')));
    assert.ok(Number.isNaN(fromLocalInput('', 'UTC')));
  });

  test('instants are formatted for their window size', () => {
    const t = at('2024-01-15T10:30:00Z');
    assert.equal(formatInstant(t, 'UTC'), '2024-01-15 10:30');
    assert.equal(formatInstant(t, 'Asia/Kolkata', 'HOUR'), '2024-01-15 16:00');
    assert.equal(formatInstant(t, 'UTC', 'DAY'), '2024-01-15');
    assert.equal(formatInstant(t, 'UTC', 'MONTH'), '2024-01');
  });

  test('ticks are round in the zone and inside the range', () => {
    const from = at('2024-01-15T10:07:00Z');
    const to = at('2024-01-15T16:07:00Z');
    const ticks = timeTicks(from, to, 'UTC', 7);
    assert.deepEqual(ticks.map((t) => t.label), ['11:00', '12:00', '13:00', '14:00', '15:00', '16:00']);
    const kolkata = timeTicks(from, to, 'Asia/Kolkata', 7);
    assert.ok(kolkata.length >= 5 && kolkata.length <= 7);
    for (const tick of kolkata) {
      assert.equal(wallTime(tick.t, 'Asia/Kolkata').minute, 0);
      assert.ok(tick.t >= from && tick.t <= to);
    }
    const days = timeTicks(at('2024-03-25T00:00:00Z'), at('2024-04-02T00:00:00Z'), 'Europe/Berlin', 10);
    for (const tick of days) assert.equal(wallTime(tick.t, 'Europe/Berlin').hour, 0, tick.label);
    assert.ok(days.some((d) => d.label === 'Apr 1'));
    const months = timeTicks(at('2023-01-10T00:00:00Z'), at('2024-01-10T00:00:00Z'), 'UTC', 6);
    assert.ok(months.length >= 3 && months.length <= 6, JSON.stringify(months));
    for (const tick of months) assert.equal(wallTime(tick.t, 'UTC').day, 1);
  });
});

describe('chart scales', () => {
  test('nice ticks cover the values with round steps', () => {
    assert.deepEqual(niceTicks(0, 97, 5), { min: 0, max: 100, step: 20, ticks: [0, 20, 40, 60, 80, 100] });
    assert.deepEqual(niceTicks(0, 0, 5).ticks.at(-1), 1);
    const negative = niceTicks(-3, 7, 5);
    assert.ok(negative.min <= -3 && negative.max >= 7);
    assert.equal(niceTicks(0, 0.03, 3).max, 0.03);
  });

  test('the value domain starts at zero', () => {
    const d = valueDomain([{ points: [{ value: 5 }, { value: 12 }] }, { points: [{ value: 3 }] }]);
    assert.equal(d.min, 0);
    assert.ok(d.max >= 12);
  });

  test('lines break where a window has no row', () => {
    const p = (start, end) => ({ start, end, value: 1 });
    assert.deepEqual(runsOf([p(0, 10), p(10, 20), p(30, 40), p(40, 50), p(60, 70)]).map((r) => r.length), [2, 2, 1]);
    assert.deepEqual(runsOf([]), []);
  });
});

describe('series', () => {
  const rows = [
    { value: 5, windowStart: '2024-01-01T01:00:00Z', windowEnd: '2024-01-01T02:00:00Z', subject: 'a', groupBy: { model: 'x' } },
    { value: 1, windowStart: '2024-01-01T00:00:00Z', windowEnd: '2024-01-01T01:00:00Z', subject: 'a', groupBy: { model: 'x' } },
    { value: 9, windowStart: '2024-01-01T00:00:00Z', windowEnd: '2024-01-01T01:00:00Z', subject: 'b', groupBy: { model: null } },
  ];

  test('one series per group, largest first, points in time order', () => {
    const series = rowsToSeries(rows, ['subject', 'model']);
    assert.deepEqual(series.map((s) => s.name), ['subject=b, model=(none)', 'subject=a, model=x']);
    assert.deepEqual(series[1].points.map((p) => p.value), [1, 5]);
    assert.equal(series[1].points[0].end, at('2024-01-01T01:00:00Z'));
    assert.deepEqual(rowsToSeries(rows, []).map((s) => s.name), ['total']);
    assert.equal(rowsToSeries(rows, []).length, 1);
  });

  test('the table lists every row by window, then series', () => {
    const table = tableOf(rows, ['subject']);
    assert.deepEqual(table.columns, ['windowStart', 'windowEnd', 'subject', 'value']);
    assert.deepEqual(table.rows.map((r) => [r.groups[0], r.value]), [['b', 9], ['a', 1], ['a', 5]]);
  });

  test('v1 history points become one series of intervals', () => {
    const [one] = historyToSeries([{ timestamp: '2024-01-01T00:00:00.000Z', count: 3 }], 'hour');
    assert.deepEqual(one.points, [{ start: at('2024-01-01T00:00:00Z'), end: at('2024-01-01T01:00:00Z'), value: 3 }]);
    assert.deepEqual(historyToSeries([], 'day'), []);
  });

  test('query parameters: whole seconds, zone only when not UTC, subject grouping when several', () => {
    const from = at('2024-01-01T00:00:00Z');
    const to = at('2024-01-02T00:00:00Z');
    assert.deepEqual(meterQueryParams({ from, to, windowSize: 'HOUR', zone: 'UTC', subjects: [], groupBy: [] }),
      [['from', '2024-01-01T00:00:00Z'], ['to', '2024-01-02T00:00:00Z'], ['windowSize', 'HOUR']]);
    assert.deepEqual(meterQueryParams({ from, to, windowSize: 'DAY', zone: 'Europe/Berlin', subjects: ['a', 'b'], groupBy: ['model'] }).slice(3),
      [['windowTimeZone', 'Europe/Berlin'], ['subject', 'a'], ['subject', 'b'], ['groupBy', 'subject'], ['groupBy', 'model']]);
    assert.deepEqual(meterQueryParams({ from, to, windowSize: 'DAY', zone: 'UTC', subjects: ['a'], groupBy: [] }).slice(3),
      [['subject', 'a']]);
  });

  test('ranges end at the next whole second', () => {
    const { from, to } = rangeEndingAt('1h', 1_700_000_000_500);
    assert.equal(to, 1_700_000_001_000);
    assert.equal(to - from, 3_600_000);
  });

  test('subjects are split on commas and spaces', () => {
    assert.deepEqual(parseSubjects(' a, b  c,,a '), ['a', 'b', 'c']);
    assert.deepEqual(parseSubjects(''), []);
  });
});

describe('api', () => {
  test('errors of both shapes give their message', () => {
    assert.equal(errorMessage(400, { error: { code: 'VALIDATION_ERROR', message: 'bad since' } }), 'bad since');
    assert.equal(errorMessage(400, { type: 'about:blank', title: 'Bad Request', status: 400, detail: 'from must be before to' }),
      'from must be before to');
    assert.equal(errorMessage(401, null), 'The API key was refused');
    assert.equal(errorMessage(502, {}), 'The service answered 502');
  });

  test('query strings repeat names and escape values', () => {
    assert.equal(withQuery('/x', [['groupBy', 'a'], ['groupBy', 'b c']]), '/x?groupBy=a&groupBy=b+c');
    assert.equal(withQuery('/x', []), '/x');
    assert.equal(withQuery('/x'), '/x');
  });
});
