import { calendarQuery, createObject, deleteObject, propfind, updateObject } from 'tsdav';
import { canHoldBookings, toCollection } from './discovery.js';
import { sameCollectionUrl } from './urls.js';
import type { AllowedHosts } from './trusted-hosts.js';
import { basicAuth, CaldavError, classifyStatus, davFetch, errorForResponse, type DavCredentials } from './transport.js';

export interface ObjectClientOptions {
  timeoutMs: number;
  /** Hosts that may receive the credentials: a stored calendar URL elsewhere gets no request. */
  allowedHosts: AllowedHosts;
  /** No request runs past this time (ms since epoch); see withDeadline. */
  deadline?: number;
  fetch?: typeof fetch;
}

export type PutResult = { etag?: string };

/**
 * Writes and deletes one calendar object at a known URL: exactly one request each, with the
 * conditional headers that make concurrent and repeated writes safe. Redirects are not
 * followed (a redirect means the stored calendar URL went stale).
 */
export class CalendarObjects {
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: ObjectClientOptions) {
    this.fetch = davFetch(opts);
  }

  /** The same client, with no request running past `deadline` (one sync invocation's). */
  withDeadline(deadline: number): CalendarObjects {
    return new CalendarObjects({ ...this.opts, deadline });
  }

  /** PUT with `If-None-Match: *`: 412 (precondition_failed) when the object already exists. */
  async create(url: string, ics: string, creds: DavCredentials): Promise<PutResult> {
    const res = await this.drain(
      createObject({ url, data: ics, headers: { ...this.headers(creds), 'If-None-Match': '*' }, fetchOptions: { redirect: 'manual' }, fetch: this.fetch }),
      'PUT',
    );
    return { etag: etagOf(res) };
  }

  /** PUT with `If-Match` when an ETag is known: 412 when the object changed since. */
  async update(url: string, ics: string, etag: string | undefined, creds: DavCredentials): Promise<PutResult> {
    const res = await this.drain(
      updateObject({ url, data: ics, etag, headers: this.headers(creds), fetchOptions: { redirect: 'manual' }, fetch: this.fetch }),
      'PUT',
    );
    return { etag: etagOf(res) };
  }

  /** DELETE; `gone` when there was nothing at the URL (404/410). */
  async delete(url: string, etag: string | undefined, creds: DavCredentials): Promise<'deleted' | 'gone'> {
    try {
      await this.drain(deleteObject({ url, etag, headers: basicAuth(creds), fetchOptions: { redirect: 'manual' }, fetch: this.fetch }), 'DELETE');
      return 'deleted';
    } catch (err) {
      if (err instanceof CaldavError && err.failure === 'not_found') return 'gone';
      throw err;
    }
  }

  /** Whether a collection (the calendar) still exists at this URL: PROPFIND Depth 0. */
  async collectionExists(url: string, creds: DavCredentials): Promise<boolean> {
    try {
      await this.drain(
        this.fetch(url, {
          method: 'PROPFIND',
          headers: { ...basicAuth(creds), depth: '0', 'content-type': 'application/xml; charset=utf-8' },
          body: '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>',
          redirect: 'manual',
        }),
        'PROPFIND',
      );
      return true;
    } catch (err) {
      if (err instanceof CaldavError && ['not_found', 'forbidden', 'moved'].includes(err.failure)) return false;
      throw err;
    }
  }

  /** The object's current ETag, or undefined when it does not exist. */
  async currentEtag(url: string, creds: DavCredentials): Promise<string | undefined> {
    try {
      const res = await this.drain(this.fetch(url, { method: 'GET', headers: basicAuth(creds), redirect: 'manual' }), 'GET');
      return etagOf(res) ?? '';
    } catch (err) {
      if (err instanceof CaldavError && err.failure === 'not_found') return undefined;
      throw err;
    }
  }

  /**
   * Finds the object with this UID in any calendar of the account (the user may have moved the
   * event to another calendar in the Calendar app): one PROPFIND of the home, then one
   * calendar-query per calendar until it is found. Only used when the object is not where we
   * last wrote it.
   */
  async findByUid(homeUrl: string, uid: string, creds: DavCredentials, known?: string[]): Promise<{ url: string; etag?: string } | undefined> {
    const fetch = this.checkedFetch('REPORT');
    const headers = basicAuth(creds);
    // `known`: the calendars as the caller just listed them (host-change detection): no PROPFIND.
    const calendars = known
      ? known.map((url) => ({ url }))
      : (await this.dav(() => propfind({ url: homeUrl, depth: '1', props: { 'd:resourcetype': {}, 'c:supported-calendar-component-set': {} }, headers, fetch })))
          .filter((r) => r.ok && r.href)
          .map((r) => toCollection(r, new URL(r.href!, homeUrl).href))
          .filter((c) => canHoldBookings({ ...c, privileges: undefined }));
    for (const calendar of calendars) {
      const found = await this.dav(() =>
        calendarQuery({
          url: calendar.url,
          depth: '1',
          props: { 'd:getetag': {} },
          filters: {
            'comp-filter': {
              _attributes: { name: 'VCALENDAR' },
              'comp-filter': {
                _attributes: { name: 'VEVENT' },
                'prop-filter': { _attributes: { name: 'UID' }, 'text-match': { _attributes: { collation: 'i;octet' }, _text: uid } },
              },
            },
          },
          headers,
          fetch,
        }),
      );
      // Some servers (iCloud) list the collection itself too: only objects count.
      const hit = found.find((r) => r.href && !sameCollectionUrl(new URL(r.href, calendar.url).href, calendar.url));
      if (hit) return { url: new URL(hit.href!, calendar.url).href, etag: typeof hit.props?.getetag === 'string' ? hit.props.getetag : undefined };
    }
    return undefined;
  }

  /** A fetch for tsdav's multistatus helpers that turns an error status into a CaldavError. */
  private checkedFetch(what: string): typeof fetch {
    return async (input, init) => {
      const res = await this.fetch(input, init); // davFetch never follows a redirect
      if (classifyStatus(res.status) !== undefined || res.type === 'opaqueredirect') {
        await res.arrayBuffer().catch(() => undefined);
        throw errorForResponse(res, what);
      }
      return res;
    };
  }

  private async dav<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof CaldavError) throw err;
      throw new CaldavError('transient', 'CalDAV response could not be read');
    }
  }

  private headers(creds: DavCredentials) {
    return { ...basicAuth(creds), 'Content-Type': 'text/calendar; charset=utf-8' };
  }

  /** Reads the body (so the connection can be reused) and turns failures into CaldavErrors. */
  private async drain(pending: Promise<Response>, what: string): Promise<Response> {
    let res: Response;
    try {
      res = await pending;
      await res.arrayBuffer();
    } catch (err) {
      if (err instanceof CaldavError) throw err;
      throw new CaldavError('transient', `${what}: response could not be read`);
    }
    if (classifyStatus(res.status) !== undefined || res.type === 'opaqueredirect') throw errorForResponse(res, what);
    return res;
  }
}

const etagOf = (res: Response) => res.headers.get('etag') ?? undefined;
