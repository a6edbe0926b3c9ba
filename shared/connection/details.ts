import { currentHostChange, isFailed, isPending, type BookingStore } from '../store/bookings.js';
import { calendarEntries, type CalendarEntry } from '../busy/calendars.js';
import type { Connection, ConnectionStore, LastSync } from '../store/connections.js';
import { destinationOf } from './destination.js';

/** What the dashboard shows of a connection (contract §1, GET). */
export type Details =
  | { status: 'not_connected' }
  | {
      status: 'active' | 'error';
      appleId: string;
      /** The destination: where new bookings are written (PATCH `calendar`; default: the default calendar). */
      calendar: { name: string; url: string };
      /** The chosen destination when it is gone or read-only: `calendar` is then the default calendar. */
      destinationUnavailable?: { name: string; url: string };
      /** The alert on events written from now on (PATCH); absent: none. */
      alertMinutesBefore?: number;
      connectedAt: string;
      lastSync?: LastSync;
      /** Booking changes not yet in the calendar (held, or waiting for a retry). */
      pendingChanges: number;
      /** Booking changes the calendar server refused for good. */
      failedChanges: number;
      /** Every calendar of the account that can hold events, with the conflict-check choice. */
      calendars: CalendarEntry[];
      /** Bookings whose event the host deleted or moved in Apple Calendar (reported to the booking service); present when there are any. */
      hostChanges?: number;
    };

export interface DetailsDeps {
  connections: ConnectionStore;
  bookings: BookingStore;
}

export async function getDetails(deps: DetailsDeps, accountId: string): Promise<Details> {
  const connection = await deps.connections.get(accountId);
  return connection ? detailsOf(deps, connection) : { status: 'not_connected' };
}

/** The details of a connection, with the counts of its booking changes not yet written. */
export async function detailsOf(deps: Pick<DetailsDeps, 'bookings'>, conn: Connection): Promise<Details> {
  const records = (await deps.bookings.unsettled(conn.accountId)).filter((r) => r.generation === conn.generation);
  const hostChanges = records.filter((r) => currentHostChange(r)).length;
  return { ...connectedDetails(conn, records.filter(isPending).length, records.filter(isFailed).length), ...(hostChanges ? { hostChanges } : {}) };
}

/** The details of a connection from the item alone (connect's answer when counting ran out of time). */
export function connectedDetails(conn: Connection, pendingChanges = 0, failedChanges = 0): Details {
  const destination = destinationOf(conn);
  return {
    status: conn.status,
    appleId: conn.appleId,
    calendar: { name: destination.name, url: destination.url },
    ...(destination.unavailable ? { destinationUnavailable: { name: destination.unavailable.name, url: destination.unavailable.url } } : {}),
    ...(conn.alertMinutesBefore !== undefined ? { alertMinutesBefore: conn.alertMinutesBefore } : {}),
    connectedAt: conn.connectedAt,
    ...(conn.lastSync ? { lastSync: conn.lastSync } : {}),
    pendingChanges,
    failedChanges,
    calendars: calendarEntries(conn),
  };
}
