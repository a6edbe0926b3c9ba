import type { CalendarObjects, PutResult } from '../caldav/objects.js';
import { CaldavError, type DavCredentials } from '../caldav/transport.js';
import { bookingObjectId, bookingToIcs, type AttendeeMode } from '../ics.js';
import { isPending, type Applied, type BookingRecord, type BookingStore } from '../store/bookings.js';

export interface ReconcileDeps {
  bookings: BookingStore;
  objects: CalendarObjects;
  attendeeMode: AttendeeMode;
}

/** One account's calendar as used while syncing; `calendarUrl` changes after a re-discovery. */
export interface CalendarTarget {
  accountId: string;
  calendarUrl: string;
  credentials: DavCredentials;
  /** Finds the calendar again when the stored URL went stale; returns its URL. */
  rediscover(): Promise<string>;
}

/**
 * Brings the calendar to a booking's desired state and records what was applied. In steady
 * state that is one request: PUT (create with If-None-Match, update with If-Match) or DELETE.
 * A 412 re-reads the object once; a stale calendar URL triggers one re-discovery. If the
 * desired state moved on meanwhile, it goes round again. Returns false when nothing was due.
 * `current`, when given, is the record as the caller just read or wrote it (saves a read).
 */
export async function reconcileBooking(deps: ReconcileDeps, target: CalendarTarget, bookingId: string, current?: BookingRecord): Promise<boolean> {
  let rediscovered = false;
  for (let round = 0; round < 3; round++) {
    // The caller may hand in the record it just wrote; later rounds read it again.
    const record = round === 0 && current ? current : await deps.bookings.get(target.accountId, bookingId);
    if (!record || !isPending(record)) return round > 0;
    let applied: Applied;
    try {
      applied = await apply(deps, target, record);
    } catch (err) {
      if (rediscovered || !isStaleCalendar(err)) throw err;
      rediscovered = true;
      target.calendarUrl = await target.rediscover();
      applied = await apply(deps, target, record);
    }
    if (await deps.bookings.markApplied(target.accountId, bookingId, record.seq, applied)) return true;
  }
  throw new CaldavError('transient', 'booking kept changing while it was synced');
}

/**
 * A write to the stored calendar URL that says the calendar is no longer there — or a stored
 * URL that is no longer on a trusted host (CALDAV_ALLOWED_HOSTS changed, or stored before the
 * check existed): no request went there; the calendar is found again within the trusted hosts.
 */
const isStaleCalendar = (err: unknown) => err instanceof CaldavError && ['moved', 'not_found', 'forbidden', 'untrusted'].includes(err.failure);

export const objectUrl = (calendarUrl: string, filename: string) => new URL(filename, calendarUrl.endsWith('/') ? calendarUrl : `${calendarUrl}/`).href;

async function apply(deps: ReconcileDeps, target: CalendarTarget, record: BookingRecord): Promise<Applied> {
  const { uid, filename } = bookingObjectId(target.accountId, record.bookingId);
  const url = objectUrl(target.calendarUrl, filename);
  const creds = target.credentials;
  const known = record.appliedState === 'event' && record.eventUrl === url;

  if (record.desired === 'cancelled') {
    try {
      await deps.objects.delete(url, known ? record.etag : undefined, creds);
    } catch (err) {
      if (!isPrecondition(err)) throw err;
      const etag = await deps.objects.currentEtag(url, creds);
      if (etag !== undefined) await deps.objects.delete(url, etag || undefined, creds);
    }
    return { state: 'deleted', url };
  }

  if (!record.booking) throw new Error('booking record has no event data');
  const ics = bookingToIcs(record.booking, { uid }, { attendeeMode: deps.attendeeMode });
  let result: PutResult;
  try {
    result = known ? await deps.objects.update(url, ics, record.etag, creds) : await deps.objects.create(url, ics, creds);
  } catch (err) {
    // 412: it exists already (a redelivery after a lost record write) or changed since our
    // last write (edited in Calendar): re-read its ETag once and write over it.
    if (!isPrecondition(err)) throw err;
    const etag = await deps.objects.currentEtag(url, creds);
    result = etag === undefined ? await deps.objects.create(url, ics, creds) : await deps.objects.update(url, ics, etag || undefined, creds);
  }
  return { state: 'event', url, etag: result.etag };
}

const isPrecondition = (err: unknown) => err instanceof CaldavError && err.failure === 'precondition_failed';
