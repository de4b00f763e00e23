/** Calendar arithmetic in UTC, on ISO 8601 strings (no clock: the pathway never reads the time). */
const DAY_MS = 86_400_000;

// A date-time exactly as Date#toISOString writes it (years 0000-9999): most of what the pathway handles is already
// in this form, and reading it as text is many times cheaper than a round trip through Date (a replay of every
// stored event log does this millions of times). Anything else takes the Date route, as before.
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The number in `iso` from `from` to `to` (exclusive) when it is all digits, else -1. */
function digits(iso: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i += 1) {
    const digit = iso.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Year, month (1-12) and day of a canonical, valid date-time packed as `year * 10000 + month * 100 + day`; -1 for any
 * other string (Date handles those). No allocation: it runs for nearly every date the pathway touches.
 */
function canonicalDate(iso: string): number {
  if (iso.length !== 24) return -1;
  // - - T : : . Z
  if (
    iso.charCodeAt(4) !== 45 ||
    iso.charCodeAt(7) !== 45 ||
    iso.charCodeAt(10) !== 84 ||
    iso.charCodeAt(13) !== 58 ||
    iso.charCodeAt(16) !== 58 ||
    iso.charCodeAt(19) !== 46 ||
    iso.charCodeAt(23) !== 90
  )
    return -1;
  const year = digits(iso, 0, 4);
  const month = digits(iso, 5, 7);
  const day = digits(iso, 8, 10);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return -1;
  // Date.parse accepts (and rolls over) 2025-02-30 and 24:00: those are not canonical, the slow path normalises them.
  const hour = digits(iso, 11, 13);
  const minute = digits(iso, 14, 16);
  const second = digits(iso, 17, 19);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return -1;
  if (digits(iso, 20, 23) < 0) return -1;
  return year * 10000 + month * 100 + day;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** `months` after the canonical date-time `iso` (its date packed in `date`), or null when Date must do it. */
function shift(iso: string, date: number, months: number): string | null {
  if (!Number.isInteger(months)) return null;
  const year = Math.floor(date / 10000);
  const index = (Math.floor(date / 100) % 100) - 1 + months;
  const y = year + Math.floor(index / 12);
  if (y < 0 || y > 9999) return null;
  const m = index - Math.floor(index / 12) * 12 + 1;
  const d = Math.min(date % 100, daysInMonth(y, m));
  return `${y < 1000 ? String(y).padStart(4, '0') : y}-${pad2(m)}-${pad2(d)}${iso.slice(10)}`;
}

export function addDays(iso: string, days: number): string {
  return new Date(Date.parse(iso) + days * DAY_MS).toISOString();
}

/** Adds calendar months; the day is clamped to the month's end (31 Jan + 1 month = 28/29 Feb). */
export function addMonths(iso: string, months: number): string {
  const date = canonicalDate(iso);
  return (date >= 0 ? shift(iso, date, months) : null) ?? addMonthsViaDate(iso, months);
}

/**
 * `addMonths(iso, n)` for many `n` from one date (a surveillance plan adds dozens of intervals to its anchor): the
 * date is read once.
 */
export function monthsFrom(iso: string): (months: number) => string {
  const date = canonicalDate(iso);
  if (date < 0) return (months) => addMonthsViaDate(iso, months);
  return (months) => shift(iso, date, months) ?? addMonthsViaDate(iso, months);
}

function addMonthsViaDate(iso: string, months: number): string {
  const d = new Date(Date.parse(iso));
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d.toISOString();
}

export function toIso(value: string): string {
  return canonicalDate(value) >= 0 ? value : new Date(Date.parse(value)).toISOString();
}
