import { disconnect } from '../shared/connection-details.js';
import { deleteBookingRecords } from '../shared/store/booking-purge.js';
import { httpRoute } from './lib/http.js';
import { connections, log, table } from './lib/runtime.js';

const deps = { connections, log, purgeBookings: (accountId: string) => deleteBookingRecords(table, accountId) };

/** DELETE /integrations/apple-calendar */
export const handler = httpRoute(log, async (accountId) => {
  await disconnect(deps, accountId);
  return { statusCode: 204 };
});
