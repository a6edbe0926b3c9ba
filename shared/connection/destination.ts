import { calendarsOf, findCalendar } from '../busy/calendars.js';
import type { Connection } from '../store/connections.js';

/** Where new bookings of a connection are written. */
export interface Destination {
  url: string;
  name: string;
  /**
   * The calendar chosen with PATCH `calendar` when it is no longer one of the account's
   * writable calendars (deleted, or made read-only): bookings go to the default calendar
   * meanwhile. The choice is kept, so the calendar is used again if it comes back.
   */
  unavailable?: { url: string; name: string };
}

/**
 * The destination: the chosen calendar as the account lists it now (on the current partition
 * host after an iCloud move: same path), else the default calendar.
 */
export function destinationOf(conn: Connection): Destination {
  const fallback = { url: conn.calendarUrl, name: conn.calendarName };
  if (!conn.destination) return fallback;
  const listed = findCalendar(calendarsOf(conn), conn.destination.url);
  if (listed?.writable) return { url: listed.url, name: listed.name };
  return { ...fallback, unavailable: conn.destination };
}
