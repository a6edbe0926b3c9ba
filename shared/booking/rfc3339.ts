/**
 * RFC 3339 date-times in every spelling its grammar allows (§5.6): `T` or `t`, `Z` or `z`,
 * any number of fraction digits, `-00:00`, a leap second (`:60`) — and only those. Booking
 * times must fall in the years 1970..2100 (UTC): anything else is a producer's mistake.
 */
export const RFC3339_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The instants a booking may name: 1970-01-01T00:00:00Z up to (not including) 2101-01-01T00:00:00Z. */
export const EARLIEST_INSTANT = Date.UTC(1970, 0, 1);
export const LATEST_INSTANT_EXCLUSIVE = Date.UTC(2101, 0, 1);

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** Milliseconds since the epoch, or undefined when the text is not an RFC 3339 date-time. */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339_DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  const zone = m[8]!;
  if (zone !== 'Z' && zone !== 'z') {
    const [oh, om] = zone.slice(1).split(':').map(Number) as [number, number];
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  // Date.UTC carries a leap second (:60) into the next minute, as POSIX time does.
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}

export const isBookableInstant = (text: string) => {
  const t = parseRfc3339(text);
  return t !== undefined && t >= EARLIEST_INSTANT && t < LATEST_INSTANT_EXCLUSIVE;
};

/**
 * The same instant in the spelling every consumer reads (`Date.parse`, DynamoDB, the event
 * JSON): upper-case `T`/`Z`; a leap second becomes the following second in UTC.
 */
export function canonicalInstant(text: string): string {
  const m = RFC3339_DATE_TIME.exec(text);
  if (m && m[6] === '60') return new Date(parseRfc3339(text)!).toISOString();
  return text.replace(/t/, 'T').replace(/z$/, 'Z');
}
