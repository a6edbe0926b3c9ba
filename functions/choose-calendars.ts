import { chooseConflictCalendars, parseConflictCalendars } from '../shared/busy/choose-calendars.js';
import { httpRoute, json } from './lib/http.js';
import { connections, log } from './lib/runtime.js';

/** PATCH /integrations/apple-calendar {"conflictCalendars": [...]} */
export const handler = httpRoute(log, async (accountId, event) =>
  json(200, await chooseConflictCalendars({ connections }, accountId, parseConflictCalendars(event.body, event.isBase64Encoded))),
);
