import type { Details } from '../connection/details.js';
import type { Connection } from '../store/connections.js';
import { DomainError, invalidRequest } from '../errors.js';
import { parseJsonObject } from '../json-body.js';
import type { ConnectionStore } from '../store/connections.js';
import { sameCollectionUrl } from '../caldav/urls.js';
import { calendarsOf } from './calendars.js';

const MAX_BODY_BYTES = 64 * 1024;

/** `{"conflictCalendars": ["<calendar url>", ...]}` → the URLs; anything else is 400 with `fields`. */
export function parseConflictCalendars(body: string | undefined, isBase64Encoded = false): string[] {
  const list = parseJsonObject(body, isBase64Encoded, MAX_BODY_BYTES).conflictCalendars;
  if (list === undefined) throw invalidRequest({ conflictCalendars: 'is required' });
  if (!Array.isArray(list) || !list.every((u) => typeof u === 'string' && u.length > 0 && u.length <= 2048)) {
    throw invalidRequest({ conflictCalendars: 'must be a list of calendar URLs' });
  }
  return list as string[];
}

/**
 * PATCH /integrations/apple-calendar: the calendars whose events count as busy. Every URL
 * must be one of the account's `calendars`; the others are unchecked. Conditional on the
 * list read, so a concurrent refresh of the list is never overwritten.
 */
export async function chooseConflictCalendars(
  deps: { connections: ConnectionStore; details: (connection: Connection) => Promise<Details> },
  accountId: string,
  urls: string[],
): Promise<Details> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const conn = await deps.connections.get(accountId);
    if (!conn) throw new DomainError('not_connected', 'No Apple Calendar is connected to this account.');
    const list = calendarsOf(conn);
    const unknown = urls.find((u) => !list.some((c) => sameCollectionUrl(c.url, u)));
    if (unknown !== undefined) throw invalidRequest({ conflictCalendars: 'every entry must be the url of one of the connection\'s calendars' });
    const next = list.map((c) => ({ ...c, checkedForConflicts: urls.some((u) => sameCollectionUrl(u, c.url)) }));
    if (await deps.connections.updateCalendars(accountId, next, conn.calendarsVersion)) return deps.details({ ...conn, calendars: next });
  }
  throw new Error('the calendar list kept changing while it was being updated');
}
