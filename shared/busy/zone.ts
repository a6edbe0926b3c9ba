import ICAL from 'ical.js';
import { findIana } from 'windows-iana';
/**
 * Wall-clock time in an IANA time zone → UTC, with the zone data Node ships (Intl). Used for
 * all-day and floating times (read in the request's `timeZone`) and for a TZID that names an
 * IANA zone the object carries no VTIMEZONE for.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `name` is a time zone this runtime knows (IANA names, `UTC`). */
export function isKnownTimeZone(name: string): boolean {
  if (!name || name.length > 64) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at an instant, in ms (Berlin in winter: +3 600 000). */
export function offsetAt(utcMs: number, timeZone: string): number {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(utcMs)).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
}

/**
 * The instant a wall-clock time names in a zone. A time skipped by a daylight-saving jump
 * (02:30 on a spring-forward night) is read with the offset before the jump, so it lands an
 * hour later (03:30), as calendar apps show it; a repeated time (autumn) is its first
 * occurrence.
 */
export function wallTimeToUtc(t: WallTime, timeZone: string): number {
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour ?? 0, t.minute ?? 0, t.second ?? 0);
  const before = offsetAt(asUtc - 86_400_000, timeZone);
  const after = offsetAt(asUtc + 86_400_000, timeZone);
  // Try both offsets around this day; keep the ones that read back as this wall time.
  const candidates = [...new Set([before, after])].map((off) => asUtc - off).filter((utc) => utc + offsetAt(utc, timeZone) === asUtc);
  if (candidates.length) return Math.min(...candidates);
  // In a gap: use the offset in force before it.
  return asUtc - before;
}

/**
 * The IANA zone a TZID without VTIMEZONE names: an IANA name itself, or a Windows zone name
 * (Outlook invitations: `W. Europe Standard Time`) mapped by CLDR's windowsZones (the
 * `windows-iana` package; its first answer is CLDR's territory "001", the zone's main city).
 * Undefined when it names neither.
 */
export function ianaZoneOf(tzid: string): string | undefined {
  const name = tzid.trim().replace(/^"(.*)"$/, '$1');
  if (isKnownTimeZone(name)) return name;
  return findIana(name).find(isKnownTimeZone);
}

/** No zone of its own: floating, or a TZID the object has no VTIMEZONE for. */
export const isFloating = (t: ICAL.Time) => !t.zone || t.zone === ICAL.Timezone.localTimezone || t.zone.tzid === 'floating';

/**
 * An ICAL.Time as ms since the epoch. UTC and times with a VTIMEZONE in the object are
 * ical.js's to convert; all-day and floating times are the wall clock in `floatingZone`; a
 * TZID without VTIMEZONE is its IANA (or Windows) zone — undefined when it names neither.
 */
export function icalInstant(t: ICAL.Time, tzid: string | undefined, floatingZone: string): number | undefined {
  if (t.isDate) return wallTimeToUtc({ year: t.year, month: t.month, day: t.day }, floatingZone);
  if (!isFloating(t)) return t.toUnixTime() * 1000;
  const zone = tzid === undefined ? floatingZone : ianaZoneOf(tzid);
  if (!zone) return undefined;
  return wallTimeToUtc({ year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second }, zone);
}
