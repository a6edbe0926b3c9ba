import type { Log } from '../logger.js';
import type { BookingStore } from '../store/bookings.js';
import type { BusyCacheStore } from '../store/busy-cache.js';
import type { ConnectionStore } from '../store/connections.js';
import type { HostCheckStore } from '../store/host-check-state.js';

export interface DisconnectDeps {
  connections: ConnectionStore;
  bookings: BookingStore;
  busyCache: BusyCacheStore;
  /** Host-change detection's tokens (optional: callers from before it existed). */
  hostChecks?: HostCheckStore;
  log: Log;
}

/**
 * Deletes the stored credentials (the item, not a flag), then the account's booking records
 * (held changes go with the credentials) and its busy-time cache. Events already written stay
 * in the calendar.
 */
export async function disconnect(deps: DisconnectDeps, accountId: string): Promise<void> {
  await deps.connections.delete(accountId);
  const purged = await deps.bookings.deleteAll(accountId);
  const purgedBusy = await deps.busyCache.deleteAll(accountId);
  await deps.hostChecks?.delete(accountId);
  deps.log.info('disconnected', { accountId, purgedBookingRecords: purged, purgedBusyRecords: purgedBusy });
}
