import { getDetails } from '../../shared/connection/details.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { httpRoute, json } from '../lib/http.js';
import type { Platform } from '../lib/platform.js';

/** GET /integrations/apple-calendar */
export function createDetailsHandler(p: Platform) {
  const deps = { connections: new ConnectionStore(p.table), bookings: new BookingStore(p.table) };
  return httpRoute(p.log, async (accountId) => json(200, await getDetails(deps, accountId)));
}
