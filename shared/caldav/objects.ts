import { createObject, deleteObject, updateObject } from 'tsdav';
import type { AllowedHosts } from './trusted-hosts.js';
import { basicAuth, CaldavError, classifyStatus, davFetch, errorForResponse, type DavCredentials } from './transport.js';

export interface ObjectClientOptions {
  timeoutMs: number;
  /** Hosts that may receive the credentials: a stored calendar URL elsewhere gets no request. */
  allowedHosts: AllowedHosts;
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

  constructor(opts: ObjectClientOptions) {
    this.fetch = davFetch(opts);
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

  /** DELETE; an object that is already gone (404/410) counts as deleted. */
  async delete(url: string, etag: string | undefined, creds: DavCredentials): Promise<void> {
    try {
      await this.drain(deleteObject({ url, etag, headers: basicAuth(creds), fetchOptions: { redirect: 'manual' }, fetch: this.fetch }), 'DELETE');
    } catch (err) {
      if (err instanceof CaldavError && err.failure === 'not_found') return;
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
