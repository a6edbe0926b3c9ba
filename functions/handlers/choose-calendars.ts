import { parseSettings, updateSettings } from '../../shared/connection/settings.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { detailsOf } from '../../shared/connection/details.js';
import { httpRoute, json } from '../lib/http.js';
import type { Platform } from '../lib/platform.js';

/** PATCH /integrations/apple-calendar {"conflictCalendars"?, "calendar"?, "alertMinutesBefore"?}: the connection's settings. */
export function createChooseCalendarsHandler(p: Platform) {
  const connections = new ConnectionStore(p.table);
  const bookings = new BookingStore(p.table);
  return httpRoute(p.log, async (accountId, event) =>
    json(200, await updateSettings({ connections, details: (c) => detailsOf({ bookings }, c) }, accountId, parseSettings(event.body, event.isBase64Encoded))),
  );
}
