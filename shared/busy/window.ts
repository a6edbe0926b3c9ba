import { invalidRequest } from '../errors.js';
import { isKnownTimeZone } from './zone.js';

/** The window of a busy read (ms since the epoch, `to` exclusive) and the zone of all-day/floating times. */
export interface BusyWindow {
  from: number;
  to: number;
  timeZone: string;
}

export const MAX_WINDOW_DAYS = 92;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Every field names something that exists: `2027-02-30`, `24:00`, `10:61`, `+25:00` do not (Date.parse would roll them over). */
function realFields(v: string): boolean {
  const [, y, mo, d, h, mi, s, off] = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?[^Z+-]*(Z|[+-]\d{2}:?\d{2})$/i.exec(v.replace(/\.\d+/, '')) ?? [];
  if (!y) return false;
  const daysInMonth = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  const offsetOk = !off || off.toUpperCase() === 'Z' || (Number(off.slice(1, 3)) <= 23 && Number(off.slice(-2)) <= 59);
  return Number(mo) >= 1 && Number(mo) <= 12 && Number(d) >= 1 && Number(d) <= daysInMonth && Number(h) <= 23 && Number(mi) <= 59 && Number(s ?? 0) <= 59 && offsetOk;
}

/**
 * `from` and `to` are ISO 8601 instants with `Z` or an offset; `to` after `from`, at most 92
 * days later; `timeZone` an IANA name (default UTC). Anything else: 400 with `fields`.
 */
export function parseBusyQuery(query: Record<string, string | undefined> | undefined): BusyWindow {
  const q = query ?? {};
  const fields: Record<string, string> = {};
  const instant = (name: 'from' | 'to'): number | undefined => {
    const v = q[name]?.trim();
    if (!v) {
      fields[name] = 'is required (an ISO 8601 date-time with Z or an offset)';
      return undefined;
    }
    const ms = ISO_INSTANT.test(v) && realFields(v) ? Date.parse(v) : NaN;
    if (Number.isNaN(ms)) fields[name] = 'must be an ISO 8601 date-time with Z or an offset, e.g. 2026-12-01T00:00:00Z';
    return Number.isNaN(ms) ? undefined : ms;
  };
  const from = instant('from');
  const to = instant('to');
  const timeZone = q.timeZone?.trim() || 'UTC';
  if (!isKnownTimeZone(timeZone)) fields.timeZone = 'must be an IANA time zone name, e.g. Europe/Berlin';
  if (from !== undefined && to !== undefined) {
    if (to <= from) fields.to = 'must be after from';
    else if (to - from > MAX_WINDOW_DAYS * 86_400_000) fields.to = `must be at most ${MAX_WINDOW_DAYS} days after from`;
  }
  if (Object.keys(fields).length || from === undefined || to === undefined) throw invalidRequest(fields, 'The busy-times window is not valid.');
  return { from, to, timeZone };
}
