import { disconnect } from '../shared/connection-details.js';
import { BookingStore } from '../shared/store/bookings.js';
import { BusyCacheStore } from '../shared/store/busy-cache.js';
import { httpRoute } from './lib/http.js';
import { connections, log, table } from './lib/runtime.js';

const bookings = new BookingStore(table);
const busyCache = new BusyCacheStore(table);
const deps = { connections, log, purgeBookings: (accountId: string) => bookings.deleteAll(accountId), purgeBusy: (accountId: string) => busyCache.deleteAll(accountId) };

/** DELETE /integrations/apple-calendar */
export const handler = httpRoute(log, async (accountId) => {
  await disconnect(deps, accountId);
  return { statusCode: 204 };
});
