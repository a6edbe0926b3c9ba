import { chooseConflictCalendars, parseConflictCalendars } from '../../shared/busy/choose-calendars.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { detailsOf } from '../../shared/connection/details.js';
import { httpRoute, json } from '../lib/http.js';
import type { Platform } from '../lib/platform.js';

/** PATCH /integrations/apple-calendar {"conflictCalendars": [...]} */
export function createChooseCalendarsHandler(p: Platform) {
  const connections = new ConnectionStore(p.table);
  const bookings = new BookingStore(p.table);
  return httpRoute(p.log, async (accountId, event) =>
    json(200, await chooseConflictCalendars({ connections, details: (c) => detailsOf({ bookings }, c) }, accountId, parseConflictCalendars(event.body, event.isBase64Encoded))),
  );
}
