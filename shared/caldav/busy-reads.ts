import { davRequest, type DAVResponse } from 'tsdav';
import { canHoldEvents, isWritable, toCollection } from './discovery.js';
import { sameCollectionUrl } from './urls.js';
import { basicAuth, CaldavError, classifyStatus, davFetch, type DavCredentials } from './transport.js';
import type { AllowedHosts } from './trusted-hosts.js';

/**
 * The CalDAV reads behind busy times, each exactly one request through `davFetch`:
 * a Depth-1 PROPFIND of the calendar home (the calendars and their change tokens, all at
 * once), a time-range `calendar-query`, an RFC 6578 `sync-collection` and a
 * `calendar-multiget`. Redirects are not followed (credentials stay on the stored host).
 */

export interface HomeCalendar {
  url: string;
  name: string;
  /** False for a read-only (shared-to-you) calendar. */
  writable: boolean;
  order?: number;
  /** RFC 6578 sync token of the collection, when the server offers one. */
  syncToken?: string;
  /** CalendarServer `getctag`, when the server offers one. */
  ctag?: string;
}

export interface DavObject {
  url: string;
  etag?: string;
  /** The iCalendar text; absent when the server did not send it (some sync-collection answers). */
  data?: string;
}

export interface SyncChanges {
  token: string;
  changed: DavObject[];
  deleted: string[];
}

export interface BusyReadsOptions {
  credentials: DavCredentials;
  timeoutMs: number;
  /** Only these hosts ever get the credentials (CALDAV_ALLOWED_HOSTS). */
  allowedHosts: AllowedHosts;
  fetch?: typeof fetch;
}

/** One token that changes whenever anything in the calendar changes: the sync token, else the ctag. */
export const changeToken = (c: { syncToken?: string; ctag?: string }) => c.syncToken ?? c.ctag;

export class BusyReads {
  /** Requests made so far (benchmarks and logs). */
  requests = 0;
  private readonly fetch: typeof fetch;
  private readonly headers: Record<string, string>;

  constructor(opts: BusyReadsOptions) {
    const inner = davFetch({ timeoutMs: opts.timeoutMs, allowedHosts: opts.allowedHosts, fetch: opts.fetch });
    this.fetch = (input, init) => {
      this.requests += 1;
      return inner(input, { ...init, redirect: 'manual' });
    };
    this.headers = basicAuth(opts.credentials);
  }

  /** The calendars of the home that can hold events (read-only ones too), with their change tokens. */
  async listHome(homeUrl: string): Promise<HomeCalendar[]> {
    const body = xml(
      `<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:ca="http://apple.com/ns/ical/"><d:prop>` +
        `<d:resourcetype/><d:displayname/><d:current-user-privilege-set/><c:supported-calendar-component-set/><ca:calendar-order/><cs:getctag/><d:sync-token/>` +
        `</d:prop></d:propfind>`,
    );
    const responses = await this.request(homeUrl, 'PROPFIND', body, { depth: '1' });
    const out: HomeCalendar[] = [];
    for (const r of responses) {
      if (!r.ok || !r.href) continue;
      const url = new URL(r.href, homeUrl).href;
      const collection = toCollection(r, url);
      if (sameCollectionUrl(url, homeUrl) || !canHoldEvents(collection)) continue;
      const p = (r.props ?? {}) as Record<string, unknown>;
      out.push({ url, name: collection.name, writable: isWritable(collection), order: collection.order, syncToken: text(p.syncToken), ctag: text(p.getctag) });
    }
    return out;
  }

  /** Every VEVENT object with an instance in [from, to) (the server expands recurrences). */
  async query(calendarUrl: string, from: number, to: number): Promise<DavObject[]> {
    const body = xml(
      `<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>` +
        `<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="${caldavTime(from)}" end="${caldavTime(to)}"/></c:comp-filter></c:comp-filter></c:filter>` +
        `</c:calendar-query>`,
    );
    return this.objects(calendarUrl, await this.request(calendarUrl, 'REPORT', body, { depth: '1' }));
  }

  /** What changed since `token` (RFC 6578). Changed objects come with their data when the server sends it. */
  async syncCollection(calendarUrl: string, token: string): Promise<SyncChanges> {
    const body = xml(
      `<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:sync-token>${escapeXml(token)}</d:sync-token><d:sync-level>1</d:sync-level>` +
        `<d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>`,
    );
    const responses = await this.request(calendarUrl, 'REPORT', body, {});
    const newToken = text((responses[0]?.raw as any)?.multistatus?.syncToken);
    if (!newToken) throw new CaldavError('unexpected', 'sync-collection answered without a sync token');
    const changed: DavObject[] = [];
    const deleted: string[] = [];
    for (const r of responses) {
      if (!r.href) continue;
      const url = new URL(r.href, calendarUrl).href;
      if (url.endsWith('/')) continue;
      if (r.status === 404 || r.status === 410) deleted.push(url);
      else if (r.ok) changed.push(objectOf(r, url));
    }
    return { token: newToken, changed, deleted };
  }

  /** The given objects of one calendar, in one request. Objects gone since are simply absent. */
  async multiget(calendarUrl: string, urls: string[]): Promise<DavObject[]> {
    const hrefs = urls.map((u) => `<d:href>${escapeXml(new URL(u).pathname)}</d:href>`).join('');
    const body = xml(
      `<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>${hrefs}</c:calendar-multiget>`,
    );
    return this.objects(calendarUrl, await this.request(calendarUrl, 'REPORT', body, { depth: '1' }));
  }

  private objects(calendarUrl: string, responses: DAVResponse[]): DavObject[] {
    return responses
      .filter((r) => r.ok && r.href)
      .map((r) => objectOf(r, new URL(r.href!, calendarUrl).href))
      .filter((o) => !o.url.endsWith('/'));
  }

  private async request(url: string, method: string, body: string, headers: Record<string, string>): Promise<DAVResponse[]> {
    let responses: DAVResponse[];
    try {
      responses = await davRequest({
        url,
        init: { method: method as 'PROPFIND', headers: { ...this.headers, ...headers, 'content-type': 'application/xml; charset=utf-8' }, body },
        convertIncoming: false,
        fetch: this.fetch,
      });
    } catch (err) {
      if (err instanceof CaldavError) throw err;
      throw new CaldavError('transient', `${method}: response could not be read`);
    }
    // A failure of the whole request comes back as one response without a multistatus.
    const top = responses.length === 1 && !(responses[0]!.raw as any)?.multistatus ? responses[0]! : undefined;
    if (top && (!top.ok || !top.status || top.status >= 300)) {
      const status = top.status ?? 0;
      const failure = status === 0 ? 'moved' : (classifyStatus(status) ?? 'unexpected');
      throw new CaldavError(failure, `${method} failed: HTTP ${status}`, status);
    }
    if (top) throw new CaldavError('unexpected', `${method}: the server did not answer with a multistatus`, top.status);
    return responses;
  }
}

function objectOf(r: DAVResponse, url: string): DavObject {
  const p = (r.props ?? {}) as Record<string, any>;
  const raw = p.calendarData;
  const data = typeof raw === 'string' ? raw : typeof raw?._cdata === 'string' ? raw._cdata : typeof raw?._text === 'string' ? raw._text : undefined;
  return { url, etag: text(p.getetag), ...(data && data.includes('BEGIN:') ? { data } : {}) };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined);
const xml = (inner: string) => `<?xml version="1.0" encoding="utf-8"?>${inner}`;
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const caldavTime = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
