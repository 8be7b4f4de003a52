// Time in a named zone (IANA: `Europe/Berlin`), with Intl only: the service
// windows DAY and MONTH at local midnight of the query's time zone, so the
// pages label and pick times in that zone too, across daylight-saving changes.

const formatters = new Map();

function formatter(zone) {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

// Names ICU (and so Chromium's Intl.supportedValuesOf) still lists under the
// old spelling, with the name the IANA database has used since.
const RENAMED = {
  'Asia/Calcutta': 'Asia/Kolkata', 'Asia/Saigon': 'Asia/Ho_Chi_Minh', 'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon', 'Europe/Kiev': 'Europe/Kyiv', 'America/Godthab': 'America/Nuuk',
  'Atlantic/Faeroe': 'Atlantic/Faroe', 'Pacific/Truk': 'Pacific/Chuuk', 'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Enderbury': 'Pacific/Kanton', 'Asia/Ulan_Bator': 'Asia/Ulaanbaatar',
};

/** The current IANA name of `zone` (`Asia/Calcutta` is `Asia/Kolkata`). */
export function ianaName(zone) {
  return RENAMED[zone] ?? zone;
}

/** Whether `zone` is a time zone this browser knows. */
export function isKnownZone(zone) {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of instant `t` (ms) in `zone`; `month` is 1–12. */
export function wallTime(t, zone) {
  const p = {};
  for (const { type, value } of formatter(zone).formatToParts(new Date(t))) {
    if (type !== 'literal') p[type] = Number(value);
  }
  return { year: p.year, month: p.month, day: p.day, hour: p.hour % 24, minute: p.minute, second: p.second };
}

/** How far `zone`'s clock is ahead of UTC at instant `t`, in ms. */
export function zoneOffset(t, zone) {
  const w = wallTime(t, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/**
 * The instant a wall-clock time in `zone` names. Fields may overflow (month
 * 13, day 0) as with Date.UTC. As Temporal's `compatible` rule: a time that
 * a daylight-saving change repeats is the earlier one, and a time it skips is
 * read with the offset before the change (02:30 becomes 03:30).
 */
export function instantOf({ year, month, day = 1, hour = 0, minute = 0, second = 0 }, zone) {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const before = zoneOffset(asUtc - 86_400_000, zone);
  const after = zoneOffset(asUtc + 86_400_000, zone);
  const valid = [asUtc - before, asUtc - after].filter((t) => zoneOffset(t, zone) === asUtc - t);
  return valid.length ? Math.min(...valid) : asUtc - before;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n) => String(n).padStart(2, '0');

/** `2024-01-15 10:30` (or `2024-01-15`, `2024-01` for DAY and MONTH windows) in `zone`. */
export function formatInstant(t, zone, windowSize = 'MINUTE') {
  const w = wallTime(t, zone);
  const date = `${w.year}-${pad(w.month)}-${pad(w.day)}`;
  if (windowSize === 'MONTH') return `${w.year}-${pad(w.month)}`;
  if (windowSize === 'DAY') return date;
  return `${date} ${pad(w.hour)}:${pad(w.minute)}`;
}

/** The value of a `datetime-local` input showing instant `t` in `zone`. */
export function toLocalInput(t, zone) {
  const w = wallTime(t, zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

/** The instant a `datetime-local` value names in `zone`; NaN when it is not one. */
export function fromLocalInput(value, zone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value ?? '');
  if (!m) return NaN;
  const [year, month, day, hour, minute, second] = m.slice(1).map((x) => Number(x ?? 0));
  return instantOf({ year, month, day, hour, minute, second }, zone);
}

// Tick steps, smallest first, with their length for choosing one.
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STEPS = [
  ['minute', 1, MINUTE], ['minute', 5, 5 * MINUTE], ['minute', 15, 15 * MINUTE],
  ['minute', 30, 30 * MINUTE], ['hour', 1, HOUR], ['hour', 3, 3 * HOUR], ['hour', 6, 6 * HOUR],
  ['hour', 12, 12 * HOUR], ['day', 1, DAY], ['day', 2, 2 * DAY], ['day', 7, 7 * DAY],
  ['month', 1, 30 * DAY], ['month', 3, 91 * DAY], ['month', 6, 182 * DAY], ['year', 1, 365 * DAY],
  ['year', 5, 5 * 365 * DAY], ['year', 10, 10 * 365 * DAY],
];

/**
 * At most `maxTicks` (but at least one when the range holds one) round
 * instants in [from, to], aligned to `zone`'s wall clock (hours on the hour,
 * days at midnight, months on the first), each with a short label.
 */
export function timeTicks(from, to, zone, maxTicks = 6) {
  const span = Math.max(to - from, 1);
  const [unit, n] = STEPS.find(([, , length]) => length * Math.max(maxTicks - 1, 1) >= span) ??
    STEPS[STEPS.length - 1];
  const w = wallTime(from, zone);
  const start = { year: w.year, month: w.month, day: w.day, hour: w.hour, minute: w.minute };
  if (unit === 'minute') start.minute -= start.minute % n;
  if (unit === 'hour') Object.assign(start, { hour: start.hour - (start.hour % n), minute: 0 });
  if (unit === 'day') Object.assign(start, { hour: 0, minute: 0 });
  if (unit === 'month') Object.assign(start, { day: 1, hour: 0, minute: 0, month: start.month - ((start.month - 1) % n) });
  if (unit === 'year') Object.assign(start, { month: 1, day: 1, hour: 0, minute: 0, year: start.year - (start.year % n) });
  const ticks = [];
  for (let i = 0; ticks.length <= maxTicks * 2 && i < 10_000; i += 1) {
    const wall = { ...start };
    if (unit === 'minute') wall.minute += i * n;
    if (unit === 'hour') wall.hour += i * n;
    if (unit === 'day') wall.day += i * n;
    if (unit === 'month') wall.month += i * n;
    if (unit === 'year') wall.year += i * n;
    const t = instantOf(wall, zone);
    if (t > to) break;
    if (t >= from && (ticks.length === 0 || t > ticks[ticks.length - 1].t)) {
      ticks.push({ t, label: tickLabel(t, zone, unit) });
    }
  }
  return ticks;
}

function tickLabel(t, zone, unit) {
  const w = wallTime(t, zone);
  if (unit === 'year') return String(w.year);
  if (unit === 'month') return `${MONTHS[w.month - 1]} ${w.year}`;
  if (unit === 'day' || (w.hour === 0 && w.minute === 0)) return `${MONTHS[w.month - 1]} ${w.day}`;
  return `${pad(w.hour)}:${pad(w.minute)}`;
}
