import { readBusy } from '../shared/busy/busy-service.js';
import { parseBusyQuery } from '../shared/busy/window.js';
import { busyDeps } from './lib/busy-runtime.js';
import { json } from './lib/http.js';
import { internalRoute } from './lib/internal-route.js';
import { log } from './lib/runtime.js';

/** GET /internal/accounts/{accountId}/apple-calendar/busy (the booking service: IAM, or the local service token) */
export const handler = internalRoute(log, async (accountId, event) => json(200, await readBusy(busyDeps, accountId, parseBusyQuery(event.queryStringParameters))));
