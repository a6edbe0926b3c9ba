import type { AllowedHosts } from '../caldav/trusted-hosts.js';
import { BusyReads, changeToken, type DavObject } from '../caldav/busy-reads.js';
import { discoverCalendar, NoCalendarError } from '../caldav/discovery.js';
import { CaldavError } from '../caldav/transport.js';
import { mapLimit } from '../concurrency.js';
import { DomainError } from '../errors.js';
import type { Log } from '../logger.js';
import { calendarKey, newGeneration, type BusyCache, type BusyCacheStore, type CachedObject, type CalendarSnapshot } from '../store/busy-cache.js';
import type { Connection, ConnectionStore, StoredCalendar } from '../store/connections.js';
import { checkedCalendars, listChanged, mergeListing } from './calendars.js';
import { busyIntervals } from './expand.js';
import { ownAddressSet, reduceObject, UNREADABLE } from './ical.js';
import { mergeIntervals, toIso } from './intervals.js';
import type { BusyWindow } from './window.js';

export interface BusyDeps {
  connections: ConnectionStore;
  cache: BusyCacheStore;
  /** Decrypted passwords (one KMS Decrypt per account per few minutes in a warm container). */
  passwords: { get(accountId: string, ciphertext: string): Promise<string>; forget(accountId: string): void };
  /** The CalDAV server (for a re-discovery when the account moved), timeouts, trusted hosts. */
  caldav: { serverUrl: string; timeoutMs: number; allowedHosts: AllowedHosts; fetch?: typeof fetch };
  log: Log;
  now?: () => number;
  /** A confirmation younger than this answers without asking the server. Default 15 s. */
  revalidateAfterMs?: number;
  /** The oldest confirmation that may answer when the server can't be read (contract: 60 s). */
  maxAgeMs?: number;
}

export interface BusyAnswer {
  from: string;
  to: string;
  busy: Array<{ start: string; end: string }>;
  asOf: string;
}

/** How a read was answered (logs and the benchmark). */
export interface BusyReadInfo {
  mode: 'cache' | 'cold' | 'warm' | 'stale';
  requests: number;
  changedCalendars: number;
}

const DAY = 86_400_000;
/** Floating and all-day times move with the zone; the server may read them in another: margin. */
const SLACK_MS = 2 * DAY;
/** A full read covers at least this much around now, so the next windows are served warm. */
const COVER_BEFORE_MS = 7 * DAY;
const COVER_AFTER_MS = 366 * DAY;

const notConnected = () => new DomainError('not_connected', 'No Apple Calendar is connected to this account.');
const reconnectRequired = () =>
  new DomainError('reconnect_required', 'iCloud no longer accepts the stored app-specific password. Reconnect the Apple Calendar with a new one.');
const unavailable = () => new DomainError('calendar_unavailable', 'The calendars could not be read from iCloud just now. Try again in a minute.');

/**
 * The account's busy times in a window (contract §1 busy times), exact and fail-closed:
 * answered from the stored snapshots when they were confirmed moments ago; otherwise the
 * home is asked what changed (one PROPFIND for all calendars) and only changed calendars are
 * read again (sync-collection, or a time-range calendar-query). A cold read (nothing stored)
 * reads each checked calendar whole (two calendar-queries). Never answers with busy times missing.
 */
export async function readBusy(deps: BusyDeps, accountId: string, win: BusyWindow, info?: BusyReadInfo): Promise<BusyAnswer> {
  const now = deps.now ?? Date.now;
  const report = info ?? { mode: 'cache', requests: 0, changedCalendars: 0 };
  const conn = await deps.connections.get(accountId);
  if (!conn) throw notConnected();
  if (conn.status === 'error') throw reconnectRequired();

  const cache = await deps.cache.load(accountId);
  const need = { from: win.from - SLACK_MS, to: win.to + SLACK_MS };
  const answer = (snaps: CalendarSnapshot[], asOf: number): BusyAnswer => {
    const { intervals, inexact, steps, outOfBudget } = busyIntervals(
      snaps.flatMap((s) => [...s.objects.values()].map((o) => o.ics)),
      win,
    );
    // Never silent: what could not be expanded exactly is in the answer as busy, and logged.
    if (inexact) deps.log.warn('busy read: events counted busy without exact expansion', { accountId, inexact, steps, outOfBudget });
    return {
      from: toIso(win.from),
      to: toIso(win.to),
      busy: mergeIntervals(intervals, win.from, win.to).map((i) => ({ start: toIso(i.start), end: toIso(i.end) })),
      asOf: toIso(asOf),
    };
  };
  const fromCache = (maxAgeMs: number): BusyAnswer | undefined => {
    const state = cache.state;
    if (!state || now() - state.checkedAt > maxAgeMs) return undefined;
    const snaps = checkedCalendars(conn).map((c) => cache.calendars.get(c.url));
    const consistent = snaps.every((s) => s && s.gen === state.gens[calendarKey(s.url)] && covers(s, need));
    return consistent ? answer(snaps as CalendarSnapshot[], state.checkedAt) : undefined;
  };

  const hit = fromCache(deps.revalidateAfterMs ?? 15_000);
  if (hit) return hit;

  let dav: BusyReads | undefined;
  let requests = 0;
  try {
    const password = await deps.passwords.get(accountId, conn.ciphertext);
    const read = (c: Connection) => {
      requests += dav?.requests ?? 0;
      dav = new BusyReads({ credentials: { username: c.appleId.trim(), password }, ...deps.caldav });
      return refresh(deps, c, cache, dav, need, now, report);
    };
    let snaps;
    try {
      snaps = await read(conn);
    } catch (err) {
      // The home or a calendar is no longer where it was (iCloud moved the account to another
      // partition host, or a stored URL is no longer trusted): find it again, once.
      if (!(err instanceof CaldavError) || !['forbidden', 'not_found', 'moved', 'untrusted'].includes(err.failure)) throw err;
      snaps = await read(await relocate(deps, conn, password));
    }
    report.requests = requests + dav!.requests;
    deps.log.info('busy read', { accountId, ...report });
    return answer(snaps.snapshots, snaps.checkedAt);
  } catch (err) {
    report.requests = requests + (dav?.requests ?? 0);
    if (!(err instanceof CaldavError)) throw err;
    if (err.failure === 'unauthorized') {
      // Exactly as sync does on a 401: the connection turns `error` (if it still holds this password).
      deps.passwords.forget(accountId);
      await deps.connections.recordSync(accountId, { at: new Date(now()).toISOString(), outcome: 'failed', error: 'credentials_rejected' }, 'error', conn.ciphertext);
      deps.log.warn('busy read: stored credentials rejected', { accountId, status: err.status });
      throw reconnectRequired();
    }
    const stale = fromCache(deps.maxAgeMs ?? 60_000);
    deps.log.warn('busy read: calendars could not be read', { accountId, failure: err.failure, status: err.status, answeredFromCache: !!stale });
    if (stale) {
      report.mode = 'stale';
      return stale;
    }
    throw unavailable();
  }
}

/**
 * One re-discovery after the account's calendars moved: the connection gets the new home,
 * default calendar and calendar list (the person's conflict choices kept, by path), as a sync
 * write that meets a moved calendar does. A rejected login is a CaldavError('unauthorized').
 */
async function relocate(deps: BusyDeps, conn: Connection, password: string): Promise<Connection> {
  let found;
  try {
    found = await discoverCalendar({ ...deps.caldav, credentials: { username: conn.appleId.trim(), password } });
  } catch (err) {
    if (err instanceof CaldavError && err.failure === 'forbidden') throw new CaldavError('unauthorized', err.message, err.status);
    if (err instanceof NoCalendarError) throw new CaldavError('not_found', err.message);
    throw err;
  }
  const calendars = mergeListing(found.calendars, conn.calendars);
  await deps.connections.updateCalendar(conn.accountId, conn.ciphertext, found, calendars);
  deps.log.info('busy read: calendars re-discovered', { accountId: conn.accountId, from: conn.homeUrl, to: found.homeUrl });
  return { ...conn, calendarUrl: found.calendar.url, calendarName: found.calendar.name, principalUrl: found.principalUrl, homeUrl: found.homeUrl, calendars };
}

const covers = (s: CalendarSnapshot, need: { from: number; to: number }) => s.coverageFrom <= need.from && s.coverageTo >= need.to;

async function refresh(
  deps: BusyDeps,
  conn: Connection,
  cache: BusyCache,
  dav: BusyReads,
  need: { from: number; to: number },
  now: () => number,
  report: BusyReadInfo,
): Promise<{ snapshots: CalendarSnapshot[]; checkedAt: number }> {
  const own = ownAddressSet([conn.appleId, ...(conn.addresses ?? [])]);
  const accountId = conn.accountId;
  const reduce = (objects: DavObject[], into: Map<string, CachedObject>) => {
    for (const o of objects) {
      if (o.data === undefined && !o.unread) continue;
      const ics = o.unread ? UNREADABLE : reduceObject(o.data!, own);
      if (ics === UNREADABLE) deps.log.warn('busy read: a calendar object is not iCalendar (or too large to read): it counts busy', { accountId, object: o.url });
      if (ics) into.set(o.url, { ...(o.etag ? { etag: o.etag } : {}), ics });
      else into.delete(o.url);
    }
  };
  const fullRead = async (cal: StoredCalendar, previous?: CalendarSnapshot): Promise<CalendarSnapshot> => {
    const t = now();
    // Never less than the snapshot it replaces covered: a change must not make a window cold.
    const coverageFrom = Math.min(need.from, t - COVER_BEFORE_MS, previous?.coverageFrom ?? Infinity);
    const coverageTo = Math.max(need.to, t + COVER_AFTER_MS, previous?.coverageTo ?? -Infinity);
    const objects = new Map<string, CachedObject>();
    const found = await dav.query(cal.url, coverageFrom, coverageTo);
    const missing = found.filter((o) => o.data === undefined && !o.unread).map((o) => o.url);
    // A server that left an object's data out (or sent it empty): ask for it; still none → busy.
    const fetched = missing.length ? await dav.multigetInPieces(cal.url, missing) : [];
    for (const url of missing) if (!fetched.some((f) => f.url === url && f.data !== undefined)) fetched.push({ url, unread: true });
    reduce([...found, ...fetched], objects);
    return { url: cal.url, gen: newGeneration(), token: changeToken(cal), syncToken: cal.syncToken, coverageFrom, coverageTo, syncData: previous?.syncData, chunks: 0, objects };
  };
  const incremental = async (cal: StoredCalendar, snap: CalendarSnapshot): Promise<CalendarSnapshot> => {
    const changes = await dav.syncCollection(cal.url, snap.syncToken!);
    const objects = new Map(snap.objects);
    for (const url of changes.deleted) objects.delete(url);
    const withData = changes.changed.filter((o) => o.data || o.unread);
    const withoutData = changes.changed.filter((o) => !o.data && !(o.etag && objects.get(o.url)?.etag === o.etag));
    reduce(withData, objects);
    let syncData = snap.syncData;
    if (withoutData.length) {
      syncData = false; // next time a changed calendar is read whole: 2 requests instead of 3
      const fetched = await dav.multigetInPieces(cal.url, withoutData.map((o) => o.url));
      for (const o of withoutData) if (!fetched.some((f) => f.url === o.url)) objects.delete(o.url);
      reduce(fetched, objects);
    } else if (withData.length) syncData = true;
    return { ...snap, gen: newGeneration(), token: cal.syncToken ? changes.token : changeToken(cal), syncToken: changes.token, syncData, chunks: 0, objects };
  };

  const readCalendars = async (calendars: StoredCalendar[], cold: boolean) => {
    const checkedAt = now();
    const changed: Array<{ snap: CalendarSnapshot; previous?: CalendarSnapshot }> = [];
    const snapshots = await mapLimit(calendars, 4, async (cal) => {
      const snap = cache.calendars.get(cal.url);
      const token = changeToken(cal);
      const usable = snap && covers(snap, need);
      if (usable && token !== undefined && snap.token === token) return snap;
      let next: CalendarSnapshot;
      if (usable && !cold && snap.syncToken && cal.syncToken && snap.syncData !== false) {
        try {
          next = await incremental(cal, snap);
        } catch (err) {
          // An expired or unknown sync token (403/409/412, some servers 5xx): read the calendar whole.
          if (err instanceof CaldavError && err.failure === 'unauthorized') throw err;
          deps.log.info('busy read: sync-collection refused, reading the calendar whole', { accountId, status: err instanceof CaldavError ? err.status : undefined });
          next = await fullRead(cal, snap);
        }
      } else next = await fullRead(cal, snap);
      changed.push({ snap: next, previous: snap });
      return next;
    });
    report.changedCalendars = changed.length;
    const stored = new Set<string>();
    await Promise.all(
      changed.map(async ({ snap, previous }) => {
        if (await deps.cache.saveSnapshot(accountId, snap, previous)) stored.add(snap.url);
      }),
    );
    const gens: Record<string, string> = {};
    for (const s of snapshots) if (stored.has(s.url) || !changed.some((c) => c.snap === s)) gens[calendarKey(s.url)] = s.gen;
    await deps.cache.saveState(accountId, { checkedAt, gens });
    return { snapshots, checkedAt };
  };

  // Cold: nothing stored yet and the tokens seen at connect are known: the calendars are read whole (two queries each).
  const checked = checkedCalendars(conn);
  const cold = !cache.state && cache.calendars.size === 0 && checked.every((c) => changeToken(c) !== undefined);
  if (cold) {
    report.mode = 'cold';
    try {
      return await readCalendars(checked, true);
    } catch (err) {
      // A calendar deleted since connect: list the home and try again.
      if (!(err instanceof CaldavError) || !['not_found', 'forbidden', 'moved'].includes(err.failure)) throw err;
    }
  }

  report.mode = 'warm';
  const listing = await dav.listHome(conn.homeUrl);
  const merged = mergeListing(listing, conn.calendars);
  if (listChanged(conn.calendars, merged) && (await deps.connections.updateCalendars(accountId, merged, conn.calendarsVersion))) {
    deps.log.info('busy read: calendar list refreshed', { accountId, calendars: merged.length });
  }
  return readCalendars(
    merged.filter((c) => c.checkedForConflicts),
    false,
  );
}
