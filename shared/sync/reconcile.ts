import type { CalendarObjects, PutResult } from '../caldav/objects.js';
import { CaldavError, type DavCredentials } from '../caldav/transport.js';
import type { AttendeeMode } from '../config.js';
import type { Limiter } from '../concurrency.js';
import type { NewRecordWriter } from './new-records.js';
import type { BookingEvent } from '../booking/booking-event.js';
import { bookingObjectId, bookingToIcs } from '../booking/ics.js';
import { isPending, type Applied, type BookingRecord, type BookingStore } from '../store/bookings.js';

export interface ReconcileDeps {
  bookings: BookingStore;
  objects: CalendarObjects;
  attendeeMode: AttendeeMode;
  /** Shared by the accounts of one invocation: at most so many bookings' calendar requests at once. */
  writeSlots?: Limiter;
  /** Where the records of bookings written for the first time go (together, once the invocation's writes are done). */
  newRecords?: NewRecordWriter;
}

/** One account's calendar as used while syncing: `calendarUrl` is where new bookings go (the destination); it changes after a re-discovery. */
export interface CalendarTarget {
  accountId: string;
  calendarUrl: string;
  /** The display alert of events written now (PATCH alertMinutesBefore); none when absent. */
  alertMinutesBefore?: number;
  /** The account's calendar home (where a moved event is looked for). */
  homeUrl: string;
  credentials: DavCredentials;
  /** Finds the calendar again when the stored URL went stale; returns where it is now. */
  rediscover(): Promise<{ calendarUrl: string; homeUrl: string }>;
  /** Whether the account stopped meanwhile (credentials rejected, throttled): no request is sent then. */
  halted?(): boolean;
  /** Told of a failed request while its write slot is still held (before the next booking may send). */
  failed?(err: unknown): void;
}

/** The account stopped while this booking waited for a write slot: nothing was sent. */
export class AccountHalted extends Error {}

/**
 * A change written before it is recorded: the event, and the sequence its record had when read
 * (none: no record). `alone`: its record is written at once, not with the invocation's others
 * (the caller waits on this booking before it writes the next).
 */
export interface Unrecorded {
  event: BookingEvent;
  readSeq: number | undefined;
  alone?: boolean;
}

/**
 * Brings the calendar to a booking's desired state and records what was applied. In steady
 * state that is one request: PUT (create with If-None-Match, update with If-Match) or DELETE.
 * A 412 re-reads the object once (a second 412 is a conflict of the moment: retried later);
 * a stale calendar URL triggers one re-discovery. If the desired state moved on meanwhile, it
 * goes round again. Returns false when nothing was due. `current`, when given, is the record
 * as the caller just read or wrote it (saves a read) — or, with `unrecorded`, as recording
 * that change would leave it: then one write records the change and that it is written.
 *
 * Only ever one reconcile of an account runs at a time (the queue's message group is the
 * account), so no other writer can slip between the read and the write of a booking here.
 */
export async function reconcileBooking(deps: ReconcileDeps, target: CalendarTarget, bookingId: string, current?: BookingRecord, unrecorded?: Unrecorded): Promise<boolean> {
  let rediscovered = false;
  for (let round = 0; round < 3; round++) {
    // The caller may hand in the record it just wrote; later rounds read it again.
    const record = round === 0 && current ? current : await deps.bookings.get(target.accountId, bookingId);
    if (!record || !isPending(record)) return round > 0;
    const gate = deps.writeSlots ?? ((fn) => fn());
    // Waiting for a slot anyway: the event's text is made meanwhile, not once the slot is ours.
    const early = deps.writeSlots?.full() ? eventText(deps, target, record) : undefined;
    let applied: Applied;
    try {
      applied = await gate(async () => {
        if (target.halted?.()) throw new AccountHalted('account stopped: nothing sent');
        try {
          return await apply(deps, target, record, early);
        } catch (err) {
          target.failed?.(err);
          throw err;
        }
      });
    } catch (err) {
      if (rediscovered || err instanceof AccountHalted || !isStaleCalendar(err)) throw err;
      rediscovered = true;
      applied = await gate(async () => {
        Object.assign(target, await target.rediscover());
        return apply(deps, target, record);
      });
    }
    if (round === 0 && unrecorded && unrecorded.readSeq === undefined && deps.newRecords && !unrecorded.alone) {
      await deps.newRecords(deps.bookings.newRecord(unrecorded.event, record.generation!, applied));
      return true;
    }
    if (round === 0 && unrecorded) {
      if (await deps.bookings.commit(unrecorded.event, record.generation!, applied, unrecorded.readSeq)) return true;
      // The record changed since it was read. Deleted (a disconnect): nothing more goes to
      // that calendar. Otherwise (another change recorded meanwhile) this one is recorded
      // as any other and the next round writes what the record asks for now.
      if (!(await deps.bookings.get(target.accountId, bookingId))) return true;
      await deps.bookings.advance(unrecorded.event, record.generation!);
      continue;
    }
    if (await deps.bookings.markApplied(target.accountId, bookingId, record.seq, applied, record.generation)) return true;
  }
  throw new CaldavError('transient', 'booking kept changing while it was synced');
}

/**
 * A write to the stored calendar URL that says the calendar is no longer there — or a stored
 * URL that is no longer on a trusted host (CALDAV_ALLOWED_HOSTS changed, or stored before the
 * check existed): no request went there; the calendar is found again within the trusted hosts.
 */
const isStaleCalendar = (err: unknown) =>
  err instanceof StaleCalendar || (err instanceof CaldavError && ['moved', 'not_found', 'forbidden', 'untrusted'].includes(err.failure));

class StaleCalendar extends Error {}

export const objectUrl = (calendarUrl: string, filename: string) => new URL(filename, calendarUrl.endsWith('/') ? calendarUrl : `${calendarUrl}/`).href;

/**
 * Where the event is: where we last wrote it with this connection (the user may have moved it
 * to another calendar since: that URL is remembered), on the calendar's current host (iCloud
 * moves accounts between partition hosts; paths stay) — or, never written, our own name in
 * the calendar.
 */
function eventLocation(target: CalendarTarget, record: BookingRecord, filename: string): { url: string; known: boolean } {
  // Written with an earlier connection (a write that raced a disconnect): not this account's URL.
  const sameConnection = record.appliedGeneration === undefined || record.appliedGeneration === record.generation;
  if (record.appliedState === 'event' && record.eventUrl && sameConnection) {
    const last = new URL(record.eventUrl);
    return { url: new URL(last.pathname + last.search, target.calendarUrl).href, known: true };
  }
  return { url: objectUrl(target.calendarUrl, filename), known: false };
}

/** The event as written for this record (none for a cancellation). */
function eventText(deps: ReconcileDeps, target: CalendarTarget, record: BookingRecord): string | undefined {
  if (record.desired === 'cancelled') return undefined;
  if (!record.booking) throw new Error('booking record has no event data');
  return bookingToIcs(record.booking, { uid: bookingObjectId(target.accountId, record.bookingId).uid }, { attendeeMode: deps.attendeeMode, alertMinutesBefore: target.alertMinutesBefore });
}

async function apply(deps: ReconcileDeps, target: CalendarTarget, record: BookingRecord, made?: string): Promise<Applied> {
  const { uid, filename } = bookingObjectId(target.accountId, record.bookingId);
  const { url, known } = eventLocation(target, record, filename);
  const creds = target.credentials;
  const elsewhere = () => deps.objects.findByUid(target.homeUrl, uid, creds);

  if (record.desired === 'cancelled') {
    let outcome: 'deleted' | 'gone';
    try {
      outcome = await deps.objects.delete(url, known ? record.etag : undefined, creds);
    } catch (err) {
      if (!isPrecondition(err)) throw err;
      const etag = await deps.objects.currentEtag(url, creds);
      outcome = etag === undefined ? 'gone' : await deps.objects.delete(url, etag || undefined, creds).catch(conflictOfTheMoment);
    }
    if (outcome === 'gone') {
      // Nothing at the URL. If the calendar itself is gone, the stored URL is stale; if we had
      // written the event, the user may have moved it: delete it where it is now.
      if (!(await deps.objects.collectionExists(target.calendarUrl, creds))) throw new StaleCalendar('calendar not found');
      const found = known ? await elsewhere() : undefined;
      if (found) await deps.objects.delete(found.url, undefined, creds);
    }
    return { state: 'deleted', url };
  }

  const ics = made ?? eventText(deps, target, record)!;
  try {
    // With its ETag an update only replaces the object we wrote: moved away, that is a 412,
    // never a second copy. (Without one — iCloud may not send it — the account-wide UID rule
    // gives the same 412. `If-Match: *` would say it too, but Radicale takes it literally.)
    const result = known ? await deps.objects.update(url, ics, record.etag, creds) : await deps.objects.create(url, ics, creds);
    return { state: 'event', url, etag: result.etag };
  } catch (err) {
    // 412: it exists already (a redelivery after a lost record write), changed since our last
    // write (edited in Calendar), or is not where we left it (moved to another calendar).
    if (!isPrecondition(err)) throw err;
  }
  const etag = await deps.objects.currentEtag(url, creds);
  if (etag !== undefined) {
    const result = await deps.objects.update(url, ics, etag || undefined, creds).catch(conflictOfTheMoment);
    return { state: 'event', url, etag: result.etag };
  }
  // Not at the URL: the event lives in another calendar of the account (an account's UIDs are
  // unique across its calendars), or it was never written / was deleted by the user.
  const found = await elsewhere();
  if (found) {
    const result = await deps.objects.update(found.url, ics, found.etag, creds).catch(conflictOfTheMoment);
    return { state: 'event', url: found.url, etag: result.etag };
  }
  const home = objectUrl(target.calendarUrl, filename);
  const result = await deps.objects.create(home, ics, creds).catch(conflictOfTheMoment);
  return { state: 'event', url: home, etag: result.etag };
}

const isPrecondition = (err: unknown) => err instanceof CaldavError && err.failure === 'precondition_failed';

/** A second 412 right after re-reading: someone else is changing the object now. Try again later. */
function conflictOfTheMoment(err: unknown): never {
  if (isPrecondition(err)) throw new CaldavError('transient', 'the event changed again while it was written', (err as CaldavError).status);
  throw err;
}
