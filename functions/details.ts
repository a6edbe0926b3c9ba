import { getDetails } from '../shared/connection-details.js';
import { httpRoute, json } from './lib/http.js';
import { connections, log } from './lib/runtime.js';

/** GET /integrations/apple-calendar */
export const handler = httpRoute(log, async (accountId) => json(200, await getDetails({ connections }, accountId)));
