import { readBusy, type BusyDeps } from '../../shared/busy/busy-service.js';
import { parseBusyQuery } from '../../shared/busy/window.js';
import { caldavOptions } from '../../shared/config.js';
import { BusyCacheStore } from '../../shared/store/busy-cache.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { PasswordCache } from '../../shared/sync/password-cache.js';
import { httpRoute, json } from '../lib/http.js';
import { internalRoute } from '../lib/internal-route.js';
import type { Platform } from '../lib/platform.js';

/** What a busy read needs: the connection, the busy cache, the password (decrypt) and CalDAV. */
function busyDeps(p: Platform): BusyDeps {
  return {
    connections: new ConnectionStore(p.table),
    cache: new BusyCacheStore(p.table),
    passwords: new PasswordCache(p.cipher()),
    caldav: { ...caldavOptions(p.config), fetch: p.fetch },
    log: p.log,
    revalidateAfterMs: p.config.BUSY_REVALIDATE_SECONDS * 1000,
  };
}

/** GET /integrations/apple-calendar/busy?from=&to=&timeZone= (the dashboard, JWT) */
export function createBusyHandler(p: Platform) {
  const deps = busyDeps(p);
  return httpRoute(p.log, async (accountId, event) => json(200, await readBusy(deps, accountId, parseBusyQuery(event.queryStringParameters))));
}

/** GET /internal/accounts/{accountId}/apple-calendar/busy (the booking service: IAM, or the local service token) */
export function createBusyInternalHandler(p: Platform) {
  const deps = busyDeps(p);
  return internalRoute(p.log, p.config.BUSY_READER_ROLE_ARNS, async (accountId, event) => json(200, await readBusy(deps, accountId, parseBusyQuery(event.queryStringParameters))));
}
