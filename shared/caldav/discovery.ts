import { propfind, type DAVResponse } from 'tsdav';
import { sameCollectionUrl } from './urls.js';
import { basicAuth, CaldavError, classifyStatus, davFetch, type DavCredentials } from './transport.js';
import { untrustedReason, type AllowedHosts } from './trusted-hosts.js';

export interface CalendarInfo {
  url: string;
  name: string;
}

export interface Discovery {
  principalUrl: string;
  homeUrl: string;
  calendar: CalendarInfo;
  /** Every calendar of the home that can hold events (read-only ones too), with its change tokens (busy times). */
  calendars: ListedCalendar[];
  /** The principal's calendar-user-address-set (e.g. `mailto:` addresses): who "me" is in invitations. */
  addresses: string[];
  /** How many HTTP requests discovery made (redirects followed by fetch count once). */
  requests: number;
}

/** A calendar as listed under the home, with the tokens that change with its content. */
export interface ListedCalendar extends CalendarInfo {
  /** False for a read-only (shared-to-you) calendar: bookings can't be written there. */
  writable: boolean;
  syncToken?: string;
  ctag?: string;
}

export interface DiscoverOptions {
  serverUrl: string;
  credentials: DavCredentials;
  timeoutMs: number;
  /** Hosts that may receive the credentials: an href or redirect elsewhere fails discovery. */
  allowedHosts: AllowedHosts;
  /** No request runs past this time (ms since epoch). */
  deadline?: number;
  fetch?: typeof fetch;
}

/** Same-host redirects discovery follows itself (e.g. Radicale's `/.well-known/caldav` → `/`). */
const MAX_REDIRECTS = 3;

/** One calendar collection as listed under the calendar home. */
export interface ListedCollection {
  url: string;
  name: string;
  resourceTypes: string[];
  components: string[] | undefined;
  privileges: string[] | undefined;
  order: number | undefined;
  defaultCalendarUrl?: string;
}

/**
 * Finds the principal, the calendar home and the default calendar of an account:
 * PROPFIND / (or /.well-known/caldav) → principal → home (depth 1) [→ schedule inbox].
 * Three requests in the usual case, four when the server names a default calendar on a
 * schedule inbox that is not listed in the home. Every href is resolved against the URL of
 * the response that carried it, so an iCloud home on `pNN-caldav.icloud.com` keeps its host.
 * Every href and redirect is checked against the trusted hosts: one that names another host
 * (or plain http off loopback) fails discovery with an `untrusted` CaldavError, before any
 * request goes there and before anything could be stored.
 */
export async function discoverCalendar(opts: DiscoverOptions): Promise<Discovery> {
  const dav = new DavSession(opts);
  const root = new URL(opts.serverUrl);

  // A 401 still fails at once; anything else on `/` tries the well-known URL next.
  const principalAt = (path: string) => dav.hrefProp(new URL(path, root).href, 'currentUserPrincipal', { 'd:current-user-principal': {} }, true);
  const principal = (await principalAt('/')) ?? (await principalAt('/.well-known/caldav'));
  if (!principal) throw new CaldavError('unexpected', 'The server did not name a principal for this account');

  const [principalRes] = await dav.propfind(principal, '0', {
    'c:calendar-home-set': {},
    'c:schedule-inbox-URL': {},
    'c:calendar-user-address-set': {},
  });
  const homeHref = firstHref(principalRes?.props?.calendarHomeSet);
  if (!homeHref) throw new CaldavError('unexpected', 'The server did not name a calendar home for this account');
  const homeUrl = dav.resolve(homeHref);
  const inboxHref = firstHref(principalRes?.props?.scheduleInboxURL);
  const inboxUrl = inboxHref ? dav.resolve(inboxHref) : undefined;

  const listing = await dav.propfind(homeUrl, '1', {
    'd:resourcetype': {},
    'd:displayname': {},
    'd:current-user-privilege-set': {},
    'c:supported-calendar-component-set': {},
    'c:schedule-default-calendar-URL': {},
    'ca:calendar-order': {},
    'cs:getctag': {},
    'd:sync-token': {},
  });
  const collections = listing.filter((r) => r.ok && r.href).map((r) => toCollection(r, dav.resolve(r.href!)));

  let defaultUrl = collections.find((c) => c.defaultCalendarUrl)?.defaultCalendarUrl;
  if (defaultUrl) checkTrusted(defaultUrl, opts.allowedHosts, 'default calendar');
  if (!defaultUrl && inboxUrl && !collections.some((c) => sameCollectionUrl(c.url, inboxUrl))) {
    defaultUrl = await dav.hrefProp(inboxUrl, 'scheduleDefaultCalendarURL', { 'c:schedule-default-calendar-URL': {} }, true);
  }

  const calendar = chooseDefaultCalendar(collections, defaultUrl);
  if (!calendar) throw new NoCalendarError();
  checkTrusted(calendar.url, opts.allowedHosts, 'calendar');
  const calendars = listing
    .filter((r) => r.ok && r.href)
    .map((r) => ({ r, c: toCollection(r, dav.resolve(r.href!)) }))
    .filter(({ c }) => canHoldEvents(c))
    .map(({ r, c }) => ({ url: c.url, name: c.name, writable: isWritable(c), syncToken: tokenText(r.props?.syncToken), ctag: tokenText(r.props?.getctag) }));
  const addresses = asArray(principalRes?.props?.calendarUserAddressSet?.href).map((h) => String(h).trim()).filter(Boolean);
  return { principalUrl: principal, homeUrl, calendar, calendars, addresses, requests: dav.requests };
}

export class NoCalendarError extends Error {
  constructor() {
    super('The account has no calendar that can hold events');
    this.name = 'NoCalendarError';
  }
}

/**
 * The calendar bookings go to: the server's default calendar when it names one that can hold
 * events; otherwise the first writable calendar that accepts VEVENT, ordered by the calendar
 * order the user set (Apple's `calendar-order`), then by URL — so the choice is stable.
 * Reminder lists (VTODO only), subscriptions, inbox/outbox/notification collections and
 * read-only (shared-to-you) calendars are never chosen.
 */
export function chooseDefaultCalendar(collections: ListedCollection[], defaultUrl?: string): CalendarInfo | undefined {
  const usable = collections.filter(canHoldBookings);
  const byDefault = defaultUrl ? usable.find((c) => sameCollectionUrl(c.url, defaultUrl)) : undefined;
  const chosen =
    byDefault ??
    [...usable].sort((a, b) => (a.order ?? Number.MAX_SAFE_INTEGER) - (b.order ?? Number.MAX_SAFE_INTEGER) || a.url.localeCompare(b.url))[0];
  return chosen && { url: chosen.url, name: chosen.name };
}

/** A calendar bookings can be written to: it holds events and is writable. */
export const canHoldBookings = (c: ListedCollection) => canHoldEvents(c) && isWritable(c);

/** A calendar collection that holds events: not a Reminders list, subscription, inbox/outbox or notification collection. */
export function canHoldEvents(c: ListedCollection): boolean {
  if (!c.resourceTypes.includes('calendar')) return false;
  if (c.resourceTypes.some((t) => ['subscribed', 'scheduleInbox', 'scheduleOutbox', 'notification'].includes(t))) return false;
  return !c.components || c.components.includes('VEVENT');
}

/** From `current-user-privilege-set`; a server that does not say is taken as writable. */
export const isWritable = (c: ListedCollection) => !c.privileges || c.privileges.some((p) => ['write', 'writeContent', 'bind', 'all'].includes(p));

export function toCollection(r: DAVResponse, url: string): ListedCollection {
  const p = (r.props ?? {}) as Record<string, any>;
  const comps = p.supportedCalendarComponentSet;
  return {
    url,
    name: typeof p.displayname === 'string' || typeof p.displayname === 'number' ? String(p.displayname) : lastSegment(url),
    resourceTypes: Object.keys(p.resourcetype ?? {}),
    components: comps === undefined ? undefined : asArray(comps.comp).map((c: any) => String(c?._attributes?.name ?? '').toUpperCase()),
    privileges: p.currentUserPrivilegeSet === undefined ? undefined : asArray(p.currentUserPrivilegeSet.privilege).flatMap((x: any) => Object.keys(x ?? {})),
    order: Number.isFinite(Number(p.calendarOrder)) && p.calendarOrder !== undefined && p.calendarOrder !== '' ? Number(p.calendarOrder) : undefined,
    defaultCalendarUrl: firstHref(p.scheduleDefaultCalendarURL) ? new URL(firstHref(p.scheduleDefaultCalendarURL)!, url).href : undefined,
  };
}

function checkTrusted(url: string, allowed: AllowedHosts, what: string): string {
  const reason = untrustedReason(url, allowed);
  if (reason) throw new CaldavError('untrusted', `The server named an untrusted ${what} (${reason})`);
  return url;
}

class DavSession {
  requests = 0;
  /** URL of the latest response: hrefs in it are relative to this (after any redirect). */
  private base: string;
  private readonly fetch: typeof fetch;
  private readonly headers: Record<string, string>;
  private readonly allowed: AllowedHosts;

  constructor(opts: DiscoverOptions) {
    this.base = opts.serverUrl;
    this.allowed = opts.allowedHosts;
    this.headers = basicAuth(opts.credentials);
    const inner = davFetch({ timeoutMs: opts.timeoutMs, allowedHosts: opts.allowedHosts, deadline: opts.deadline, fetch: opts.fetch });
    this.fetch = async (input, init) => {
      let url = String(input);
      for (let hops = 0; ; hops++) {
        this.requests += 1;
        const res = await inner(url, init);
        const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
        if (!location || hops >= MAX_REDIRECTS) {
          this.base = url;
          return res;
        }
        // Follow a redirect only to the same host (and, via davFetch, only if trusted): a
        // redirect elsewhere would carry the credentials to whoever the server names.
        const next = new URL(location, url);
        if (next.hostname.toLowerCase() !== new URL(url).hostname.toLowerCase()) {
          throw new CaldavError('untrusted', `The server redirected to another host (${next.host})`);
        }
        await res.arrayBuffer().catch(() => undefined);
        url = next.href;
      }
    };
  }

  /** An href from a response, resolved against that response's URL; refused if untrusted. */
  resolve(href: string): string {
    return checkTrusted(new URL(href, this.base).href, this.allowed, 'href');
  }

  async propfind(url: string, depth: '0' | '1', props: Record<string, object>, optional = false): Promise<DAVResponse[]> {
    let responses: DAVResponse[];
    try {
      responses = await propfind({ url, depth, props, headers: this.headers, fetch: this.fetch });
    } catch (err) {
      if (err instanceof CaldavError) throw err;
      throw new CaldavError('transient', 'CalDAV response could not be read');
    }
    const top = responses.length === 1 && !responses[0]!.ok && !responses[0]!.props ? responses[0]! : undefined;
    if (top) {
      const failure = classifyStatus(top.status ?? 0) ?? 'unexpected';
      if (failure === 'unauthorized' || failure === 'transient' || !optional) {
        throw new CaldavError(failure, `PROPFIND failed: HTTP ${top.status}`, top.status);
      }
      return [];
    }
    return responses;
  }

  /** One href-valued property of a single resource, resolved; undefined when absent (or, if optional, unavailable). */
  async hrefProp(url: string, prop: string, props: Record<string, object>, optional = false): Promise<string | undefined> {
    const responses = await this.propfind(url, '0', props, optional);
    const href = firstHref(responses.find((r) => r.ok)?.props?.[prop]);
    return href ? this.resolve(href) : undefined;
  }
}

function firstHref(value: any): string | undefined {
  const href = value?.href;
  const first = Array.isArray(href) ? href[0] : href;
  return typeof first === 'string' && first.trim() ? first.trim() : undefined;
}

const tokenText = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined);
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const lastSegment = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? url);
