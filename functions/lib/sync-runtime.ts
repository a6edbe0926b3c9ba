import { caldavOptions } from '../../shared/config.js';
import { CalendarObjects } from '../../shared/caldav/objects.js';
import { BookingStore } from '../../shared/store/bookings.js';
import type { AccountSyncDeps } from '../../shared/sync/account-sync.js';
import { config, connections, log, table } from './runtime.js';

/** What writing bookings to calendars needs, shared by the sync worker and connect's replay. */
export const syncDeps: AccountSyncDeps & { bookings: BookingStore } = {
  connections,
  bookings: new BookingStore(table),
  objects: new CalendarObjects(caldavOptions(config)),
  attendeeMode: config.ATTENDEE_MODE,
  caldav: caldavOptions(config),
  log,
};
