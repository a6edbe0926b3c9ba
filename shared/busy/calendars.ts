import { sameCollectionUrl, samePath } from '../caldav/urls.js';
import type { Connection, StoredCalendar } from '../store/connections.js';

/** One entry of the details' `calendars` (contract §1). */
export interface CalendarEntry {
  name: string;
  url: string;
  default: boolean;
  checkedForConflicts: boolean;
  /** False for a read-only (shared-to-you) calendar: it can't be the destination. */
  writable: boolean;
}


/**
 * The stored list; a connection made before busy times knows only its default calendar, and
 * one listed before `writable` was stored listed writable calendars only.
 */
export function calendarsOf(conn: Connection): StoredCalendar[] {
  return (conn.calendars ?? [{ url: conn.calendarUrl, name: conn.calendarName, checkedForConflicts: true, writable: true }]).map((c) => ({ ...c, writable: c.writable ?? true }));
}

/** The calendars whose events count as busy. */
export const checkedCalendars = (conn: Connection) => calendarsOf(conn).filter((c) => c.checkedForConflicts);

export function calendarEntries(conn: Connection): CalendarEntry[] {
  const list = calendarsOf(conn).map((c) => ({ name: c.name, url: c.url, default: sameCollectionUrl(c.url, conn.calendarUrl), checkedForConflicts: c.checkedForConflicts, writable: c.writable }));
  return [...list.filter((c) => c.default), ...list.filter((c) => !c.default)];
}


/**
 * A fresh listing of the home merged with what was stored: names and tokens from the
 * listing, the choice of the person kept (also when the account moved to another partition
 * host: same path); a calendar not seen before starts checked (default: all), one gone from
 * the home is dropped.
 */
export function mergeListing(listed: Array<{ url: string; name: string; writable: boolean; syncToken?: string; ctag?: string }>, previous: StoredCalendar[] | undefined): StoredCalendar[] {
  return listed.map((l) => {
    const before = findCalendar(previous ?? [], l.url);
    return { url: l.url, name: l.name, checkedForConflicts: before?.checkedForConflicts ?? true, writable: l.writable, ...(l.syncToken ? { syncToken: l.syncToken } : {}), ...(l.ctag ? { ctag: l.ctag } : {}) };
  });
}

/** A calendar of a list by its URL — or by its path, after the account moved to another partition host. */
export const findCalendar = <T extends { url: string }>(list: T[], url: string): T | undefined =>
  list.find((c) => sameCollectionUrl(c.url, url)) ?? list.find((c) => samePath(c.url, url));

/** Whether a listing changed what the dashboard shows (calendars added, removed, renamed or made read-only). */
export function listChanged(a: StoredCalendar[] | undefined, b: StoredCalendar[]): boolean {
  if (!a || a.length !== b.length) return true;
  return a.some((x) => !b.some((y) => sameCollectionUrl(x.url, y.url) && x.name === y.name && (x.writable ?? true) === y.writable));
}
