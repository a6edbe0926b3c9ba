import { bookingObjectId } from '../booking/ics.js';
import { BusyReads, changeToken, ResponseTooLarge, type DavObject, type HomeCalendar } from '../caldav/busy-reads.js';
import type { CalendarObjects } from '../caldav/objects.js';
import { CaldavError, type DavCredentials } from '../caldav/transport.js';
import type { AllowedHosts } from '../caldav/trusted-hosts.js';
import { pathOf, samePath } from '../caldav/urls.js';
import { mapLimit } from '../concurrency.js';
import type { Log } from '../logger.js';
import type { BookingRecord, BookingStore } from '../store/bookings.js';
import type { Connection } from '../store/connections.js';
import type { CalendarMark, HostCheckStore } from '../store/host-check-state.js';
import type { HostChange } from './calendar-change.js';
import { judge, watched, type Observation } from './decide.js';
import type { ChangeReporter, ReportedChange } from './reporter.js';

export interface DetectDeps {
  bookings: BookingStore;
  hostChecks: HostCheckStore;
  objects: Pick<CalendarObjects, 'currentEtag' | 'findByUid'>;
  reporter: Pick<ChangeReporter, 'report'>;
  caldav: { timeoutMs: number; allowedHosts: AllowedHosts; fetch?: typeof fetch };
  log: Log;
  now?: () => Date;
  /** A missing event written less than this long ago is looked at again next time (default READ_LAG_GRACE_MS). */
  readLagGraceMs?: number;
}

export interface CheckResult {
  /** CalDAV requests the check made. */
  requests: number;
  /** Host changes reported (sent to calendar-changes.fifo). */
  reported: number;
  /** Events moved by the host to another calendar (now watched there; never reported). */
  moved: number;
  /** Events missing moments after the connector wrote them: looked at again next time. */
  deferred: number;
}

/**
 * One host-change check of one account (contract §2b). Runs on the account's one writer (a
 * check message in its FIFO group), so no write of the account happens meanwhile.
 *
 * 1. One Depth-1 PROPFIND of the calendar home: the change token (sync token, else ctag) of
 *    every calendar at once. Nothing changed since the last check → done: one request.
 * 2. For each changed calendar that holds booking events: an RFC 6578 `sync-collection` from
 *    the token of the last check (only what changed, with its data) — and once more at the
 *    next check, since a listing may lag a write (see nextMark). Without a sync token, or
 *    with one the server no longer takes (iCloud: a bare 403), one `calendar-multiget` of the
 *    booking events there — a full re-read, never an `error` status and never a report by
 *    itself.
 * 3. Each booking event seen is judged by content (decide.ts). One that is missing is
 *    reported deleted only once a GET of its URL is 404 and a UID search across the account's
 *    calendars finds nothing; found elsewhere, the host moved it: it is watched there.
 * 4. Reports go out first, then the booking records say what was reported, then the tokens
 *    move on — a failure in between means the next check sees the same change again and
 *    reports it with the same deduplication id.
 */
export async function checkAccount(deps: DetectDeps, connection: Connection, credentials: DavCredentials): Promise<CheckResult> {
  const now = deps.now?.() ?? new Date();
  const reads = new BusyReads({ credentials, timeoutMs: deps.caldav.timeoutMs, allowedHosts: deps.caldav.allowedHosts, fetch: deps.caldav.fetch });
  const counted = countingObjects(deps.objects);
  const result: CheckResult = { requests: 0, reported: 0, moved: 0, deferred: 0 };
  const finish = () => ({ ...result, requests: reads.requests + counted.requests() });

  const previous = (await deps.hostChecks.get(connection.accountId))?.calendars ?? [];
  const listing = await reads.listHome(connection.homeUrl);
  const markOf = (url: string) => previous.find((m) => samePath(m.url, url));
  const changed = listing.filter((c) => markOf(c.url)?.recheck || changeToken(markOf(c.url) ?? {}) !== changeToken(c) || changeToken(c) === undefined);
  const vanished = previous.filter((m) => !listing.some((c) => samePath(c.url, m.url)));
  if (!changed.length && !vanished.length) return finish();

  const records = watched(await deps.bookings.written(connection.accountId), connection.generation);
  const byCalendar = new Map<string, BookingRecord[]>();
  for (const r of records) {
    const key = collectionPath(r.eventUrl!);
    byCalendar.set(key, [...(byCalendar.get(key) ?? []), r]);
  }

  const marks = new Map<string, CalendarMark>(listing.map((c) => [pathOf(c.url), markOf(c.url) ?? { url: c.url }]));
  const reports: Array<ReportedChange & { calendar: string }> = [];
  const missing: Array<{ record: BookingRecord; calendar: string }> = [];
  /** Calendars whose tokens must not move on: something in them is to be looked at again. */
  const held = new Set<string>();
  const consider = (calendar: string, record: BookingRecord, seen: Observation) => {
    const verdict = judge(record, seen, now.getTime(), deps.readLagGraceMs);
    if (verdict.kind === 'rescheduled') reports.push({ calendar, ...report(record, { kind: 'rescheduled', start: verdict.start, end: verdict.end }) });
    else if (verdict.kind === 'confirm_missing') missing.push({ record, calendar });
    else if (verdict.kind === 'wait') {
      result.deferred += 1;
      held.add(calendar);
    }
  };

  for (const calendar of changed) {
    const key = pathOf(calendar.url);
    const mine = byCalendar.get(key) ?? [];
    const fresh: CalendarMark = { url: calendar.url, syncToken: calendar.syncToken, ctag: calendar.ctag };
    if (!mine.length) {
      marks.set(key, fresh);
      continue;
    }
    const mark = markOf(calendar.url);
    const seen = await readCalendar(reads, calendar, mark, mine, deps.log, connection.accountId);
    for (const record of mine) {
      const at = seen.objects.get(pathOf(eventUrlOn(record, calendar.url)));
      if (at === undefined) continue; // not among what changed
      consider(key, record, at);
    }
    marks.set(key, nextMark(fresh, mark, seen.syncToken));
  }
  // A calendar that is gone from the listing: every booking event in it is missing.
  for (const mark of vanished) for (const record of byCalendar.get(pathOf(mark.url)) ?? []) consider(pathOf(mark.url), record, { kind: 'missing' });

  await mapLimit(missing, 2, async ({ record, calendar }) => {
    const outcome = await confirmMissing(counted.objects, connection, credentials, record, listing.map((c) => c.url));
    if (outcome.kind === 'deleted') reports.push({ calendar, ...report(record, { kind: 'deleted' }) });
    else if (outcome.kind === 'moved') {
      if (await deps.bookings.relocate(record.accountId, record.bookingId, record.seq, outcome.url, outcome.etag)) result.moved += 1;
      deps.log.info('booking event moved by the host to another calendar: watched there', { accountId: record.accountId, bookingId: record.bookingId });
    }
    // There after all (a listing or a GET that lagged), or not known now: the next check reads again.
    else held.add(calendar);
  });

  if (reports.length) {
    const sent = await deps.reporter.report(reports);
    for (const r of reports) if (!sent.includes(r)) held.add(r.calendar);
    await mapLimit(sent, 4, (r) =>
      deps.bookings.recordHostChange(r.accountId, r.bookingId, r.sequence, {
        kind: r.change.kind,
        seq: r.sequence,
        ...(r.change.kind === 'rescheduled' ? { start: r.change.start, end: r.change.end } : {}),
        reportedAt: now.toISOString(),
      }),
    );
    result.reported = sent.length;
    deps.log.info('host changes reported to the booking service', {
      accountId: connection.accountId,
      deleted: sent.filter((r) => r.change.kind === 'deleted').length,
      rescheduled: sent.filter((r) => r.change.kind === 'rescheduled').length,
    });
  }

  const next = [...marks]
    .map(([key, mark]) => (held.has(key) ? markOf(mark.url) : mark))
    .concat(vanished.filter((m) => held.has(pathOf(m.url))))
    .filter((m): m is CalendarMark => m !== undefined);
  if (JSON.stringify(next) !== JSON.stringify(previous)) await deps.hostChecks.put(connection.accountId, { calendars: next, checkedAt: now.toISOString() });
  return finish();
}

/**
 * The calendar's mark after a read. Listings can lag writes (iCloud), so every change is read
 * twice, one check apart: a read that found the calendar changed keeps the token it read from
 * (`readFrom`) and asks for a `recheck`; the next check reads from there again, and only a
 * read that finds nothing new since (the confirming one) moves the base on.
 */
function nextMark(fresh: CalendarMark, mark: CalendarMark | undefined, readToken: string | undefined): CalendarMark {
  const newest = readToken ?? fresh.syncToken;
  const tokens = { url: fresh.url, ...(newest ? { syncToken: newest } : {}), ...(fresh.ctag ? { ctag: fresh.ctag } : {}) };
  const confirming = !!mark?.recheck && changeToken(mark) === changeToken(fresh);
  if (confirming) return tokens;
  return { ...tokens, ...(mark?.syncToken ? { readFrom: mark.syncToken } : {}), recheck: true };
}

const report = (record: BookingRecord, change: HostChange): ReportedChange => ({ accountId: record.accountId, bookingId: record.bookingId, sequence: record.seq, change });

/**
 * What one changed calendar holds of the given booking events, by path: present (with its
 * text) or missing. Only what changed is in the map when the read was a sync-collection.
 */
async function readCalendar(
  reads: BusyReads,
  calendar: HomeCalendar,
  mark: CalendarMark | undefined,
  records: BookingRecord[],
  log: Log,
  accountId: string,
): Promise<{ objects: Map<string, Observation>; syncToken?: string }> {
  const urls = records.map((r) => eventUrlOn(r, calendar.url));
  const objects = new Map<string, Observation>();
  const from = mark?.readFrom ?? mark?.syncToken;
  if (from && calendar.syncToken) {
    try {
      const changes = await reads.syncCollection(calendar.url, from);
      const ours = new Set(urls.map(pathOf));
      for (const url of changes.deleted) if (ours.has(pathOf(url))) objects.set(pathOf(url), { kind: 'missing' });
      const withoutData: string[] = [];
      for (const o of changes.changed) {
        if (!ours.has(pathOf(o.url))) continue;
        if (o.data) objects.set(pathOf(o.url), { kind: 'present', ics: o.data });
        else withoutData.push(o.url);
      }
      if (withoutData.length) for (const o of await reads.multigetInPieces(calendar.url, withoutData)) setPresent(objects, o);
      return { objects, syncToken: changes.token };
    } catch (err) {
      // iCloud answers an expired sync token with a bare 403; a server may also truncate (507)
      // or send more than an answer may hold: read the booking events afresh.
      const refused = err instanceof CaldavError && (err.failure === 'forbidden' || err.status === 409 || err.failure === 'unexpected');
      if (!refused && !(err instanceof ResponseTooLarge)) throw err;
      log.info('sync-collection not usable: booking events read afresh', { accountId, status: err instanceof CaldavError ? err.status : undefined });
    }
  }
  const present = new Map<string, Observation>();
  const unread = new Set<string>();
  for (const o of await reads.multigetInPieces(calendar.url, urls)) {
    if (o.unread) unread.add(pathOf(o.url));
    setPresent(present, o);
  }
  // An object too large to read is there (nothing is judged about it); only an absent one is missing.
  for (const url of urls) if (!unread.has(pathOf(url))) objects.set(pathOf(url), present.get(pathOf(url)) ?? { kind: 'missing' });
  return { objects };
}

function setPresent(objects: Map<string, Observation>, o: DavObject) {
  if (o.data) objects.set(pathOf(o.url), { kind: 'present', ics: o.data });
}

type Confirmed = { kind: 'deleted' } | { kind: 'moved'; url: string; etag?: string } | { kind: 'there' } | { kind: 'unknown' };

/** A booking event missing from a listing: gone for good, moved, or there after all (a listing that lagged)? */
async function confirmMissing(objects: DetectDeps['objects'], connection: Connection, credentials: DavCredentials, record: BookingRecord, calendars: string[]): Promise<Confirmed> {
  try {
    const url = eventUrlOn(record, connection.homeUrl);
    if ((await objects.currentEtag(url, credentials)) !== undefined) return { kind: 'there' };
    // The UID search goes over the calendars the check just listed (one REPORT each, no PROPFIND).
    const found = await objects.findByUid(connection.homeUrl, bookingObjectId(record.accountId, record.bookingId).uid, credentials, calendars);
    if (!found) return { kind: 'deleted' };
    return samePath(found.url, url) ? { kind: 'there' } : { kind: 'moved', url: found.url, ...(found.etag ? { etag: found.etag } : {}) };
  } catch (err) {
    if (!(err instanceof CaldavError)) throw err;
    return { kind: 'unknown' };
  }
}

/** Counts the requests of the object client: a GET is one; a UID search one per calendar (all of them: the most it makes). */
function countingObjects(inner: DetectDeps['objects']) {
  let n = 0;
  const objects: DetectDeps['objects'] = {
    currentEtag: (...a) => ((n += 1), inner.currentEtag(...a)),
    findByUid: (...a) => ((n += a[3]?.length ?? 2), inner.findByUid(...a)),
  };
  return { objects, requests: () => n };
}

/** The event's URL on the calendar's current host (iCloud moves accounts between partition hosts; paths stay). */
const eventUrlOn = (record: BookingRecord, base: string) => new URL(new URL(record.eventUrl!).pathname, base).href;
const collectionPath = (url: string) => pathOf(new URL('.', url).href);
