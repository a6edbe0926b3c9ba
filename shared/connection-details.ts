import { calendarEntries, type CalendarEntry } from './busy/calendars.js';
import type { Log } from './logger.js';
import type { Connection, ConnectionStore, LastSync } from './store/connections.js';

/** What the dashboard shows of a connection (contract §1, GET). */
export type Details =
  | { status: 'not_connected' }
  | {
      status: 'active' | 'error';
      appleId: string;
      calendar: { name: string; url: string };
      connectedAt: string;
      lastSync?: LastSync;
      calendars: CalendarEntry[];
    };

export function toDetails(conn: Connection | undefined): Details {
  if (!conn) return { status: 'not_connected' };
  return {
    status: conn.status,
    appleId: conn.appleId,
    calendar: { name: conn.calendarName, url: conn.calendarUrl },
    connectedAt: conn.connectedAt,
    ...(conn.lastSync ? { lastSync: conn.lastSync } : {}),
    calendars: calendarEntries(conn),
  };
}

export async function getDetails(deps: { connections: ConnectionStore }, accountId: string): Promise<Details> {
  return toDetails(await deps.connections.get(accountId));
}

export async function disconnect(
  deps: { connections: ConnectionStore; log: Log; purgeBookings?: (accountId: string) => Promise<unknown>; purgeBusy?: (accountId: string) => Promise<unknown> },
  accountId: string,
): Promise<void> {
  await deps.connections.delete(accountId);
  const purged = await deps.purgeBookings?.(accountId);
  const purgedBusy = await deps.purgeBusy?.(accountId);
  deps.log.info('disconnected', { accountId, purgedBookingRecords: purged, purgedBusyRecords: purgedBusy });
}
