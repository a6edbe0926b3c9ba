import { disconnect } from '../../shared/connection/disconnect.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { BusyCacheStore } from '../../shared/store/busy-cache.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { HostCheckStore } from '../../shared/store/host-check-state.js';
import { httpRoute } from '../lib/http.js';
import type { Platform } from '../lib/platform.js';

/** DELETE /integrations/apple-calendar */
export function createDisconnectHandler(p: Platform) {
  const deps = { connections: new ConnectionStore(p.table), bookings: new BookingStore(p.table), busyCache: new BusyCacheStore(p.table), hostChecks: new HostCheckStore(p.table), log: p.log };
  return httpRoute(p.log, async (accountId) => {
    await disconnect(deps, accountId);
    return { statusCode: 204 };
  });
}
