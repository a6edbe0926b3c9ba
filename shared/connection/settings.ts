import { sameCollectionUrl } from '../caldav/urls.js';
import { calendarsOf } from '../busy/calendars.js';
import { DomainError, invalidRequest } from '../errors.js';
import { parseJsonObject } from '../json-body.js';
import type { Connection, ConnectionStore, SettingsChange } from '../store/connections.js';
import type { Details } from './details.js';

const MAX_BODY_BYTES = 64 * 1024;
/** A week: the longest alert Apple Calendar offers in its own menu is a week before. */
export const MAX_ALERT_MINUTES = 10_080;
const SETTINGS = ['conflictCalendars', 'calendar', 'alertMinutesBefore'] as const;

/** What a PATCH body asks for, shapes checked (whether the URLs are the account's is checked against it). */
export interface SettingsRequest {
  conflictCalendars?: string[];
  calendar?: string;
  alertMinutesBefore?: number | null;
}

const isUrlText = (u: unknown): u is string => typeof u === 'string' && u.length > 0 && u.length <= 2048;

/**
 * PATCH /integrations/apple-calendar's body: any of `conflictCalendars`, `calendar`,
 * `alertMinutesBefore`. An empty body, an unknown field or a wrong shape is 400 with `fields`
 * (every problem at once, values never echoed).
 */
export function parseSettings(body: string | undefined, isBase64Encoded = false): SettingsRequest {
  const data = parseJsonObject(body, isBase64Encoded, MAX_BODY_BYTES);
  const fields: Record<string, string> = {};
  for (const key of Object.keys(data)) if (!(SETTINGS as readonly string[]).includes(key)) fields[key] = `is not a setting (${SETTINGS.join(', ')})`;
  if (!Object.keys(data).length) fields.body = `must set at least one of ${SETTINGS.join(', ')}`;
  const { conflictCalendars, calendar, alertMinutesBefore } = data;
  if (conflictCalendars !== undefined && !(Array.isArray(conflictCalendars) && conflictCalendars.every(isUrlText))) {
    fields.conflictCalendars = 'must be a list of calendar URLs';
  }
  if (calendar !== undefined && !isUrlText(calendar)) fields.calendar = 'must be a calendar URL';
  if (alertMinutesBefore !== undefined && alertMinutesBefore !== null && !(Number.isInteger(alertMinutesBefore) && (alertMinutesBefore as number) >= 0 && (alertMinutesBefore as number) <= MAX_ALERT_MINUTES)) {
    fields.alertMinutesBefore = `must be a whole number of minutes from 0 to ${MAX_ALERT_MINUTES}, or null for no alert`;
  }
  if (Object.keys(fields).length) throw invalidRequest(fields);
  return data as SettingsRequest;
}

/**
 * Applies the settings: the calendars checked for conflicts (the others unchecked), the
 * destination of new bookings (one of the account's writable calendars) and the alert. Every
 * URL must be one of the account's `calendars`. Conditional on the calendar list read, so a
 * concurrent refresh of the list is never overwritten and nothing is checked against a stale one.
 */
export async function updateSettings(
  deps: { connections: ConnectionStore; details: (connection: Connection) => Promise<Details> },
  accountId: string,
  request: SettingsRequest,
): Promise<Details> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const conn = await deps.connections.get(accountId);
    if (!conn) throw new DomainError('not_connected', 'No Apple Calendar is connected to this account.');
    const change = checkedChange(conn, request);
    if (await deps.connections.updateSettings(accountId, change, conn.calendarsVersion)) {
      const { alertMinutesBefore, ...rest } = change;
      const updated: Connection = { ...conn, ...rest };
      if (alertMinutesBefore === null) delete updated.alertMinutesBefore;
      else if (alertMinutesBefore !== undefined) updated.alertMinutesBefore = alertMinutesBefore;
      return deps.details(updated);
    }
  }
  throw new Error('the calendar list kept changing while it was being updated');
}

function checkedChange(conn: Connection, request: SettingsRequest): SettingsChange {
  const list = calendarsOf(conn);
  const fields: Record<string, string> = {};
  const change: SettingsChange = {};
  if (request.conflictCalendars) {
    const urls = request.conflictCalendars;
    if (urls.some((u) => !list.some((c) => sameCollectionUrl(c.url, u)))) fields.conflictCalendars = "every entry must be the url of one of the connection's calendars";
    else change.calendars = list.map((c) => ({ ...c, checkedForConflicts: urls.some((u) => sameCollectionUrl(u, c.url)) }));
  }
  if (request.calendar !== undefined) {
    const chosen = list.find((c) => sameCollectionUrl(c.url, request.calendar!));
    if (!chosen) fields.calendar = "must be the url of one of the connection's calendars";
    else if (!chosen.writable) fields.calendar = 'is read-only: bookings can only go to a calendar you can write to';
    else change.destination = { url: chosen.url, name: chosen.name };
  }
  if (request.alertMinutesBefore !== undefined) change.alertMinutesBefore = request.alertMinutesBefore;
  if (Object.keys(fields).length) throw invalidRequest(fields);
  return change;
}
