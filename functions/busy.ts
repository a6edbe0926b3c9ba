import { readBusy } from '../shared/busy/busy-service.js';
import { parseBusyQuery } from '../shared/busy/window.js';
import { busyDeps } from './lib/busy-runtime.js';
import { httpRoute, json } from './lib/http.js';
import { log } from './lib/runtime.js';

/** GET /integrations/apple-calendar/busy?from=&to=&timeZone= (the dashboard, JWT) */
export const handler = httpRoute(log, async (accountId, event) => json(200, await readBusy(busyDeps, accountId, parseBusyQuery(event.queryStringParameters))));
