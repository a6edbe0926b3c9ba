import { untrustedReason, type AllowedHosts } from './trusted-hosts.js';

export interface DavCredentials {
  username: string;
  password: string;
}

/** What went wrong talking to a CalDAV server, in the terms the callers act on. */
export type CaldavFailure =
  | 'unauthorized' // 401: the credentials are rejected
  | 'forbidden' // 403
  | 'not_found' // 404 / 410
  | 'precondition_failed' // 412 (If-Match / If-None-Match)
  | 'moved' // 3xx on a request that must not be redirected
  | 'untrusted' // the URL is not a trusted host over https: nothing was sent (trusted-hosts.ts)
  | 'transient' // 429, 5xx, timeout, network error: try again later
  | 'unexpected'; // anything else

export class CaldavError extends Error {
  constructor(
    readonly failure: CaldavFailure,
    message: string,
    readonly status?: number,
    /** Seconds the server asked us to wait (Retry-After), when it said so. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'CaldavError';
  }
}

export function classifyStatus(status: number): CaldavFailure | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  // 409 on a PUT: the parent collection does not exist (RFC 4918 §9.7.1).
  if (status === 404 || status === 409 || status === 410) return 'not_found';
  if (status === 412) return 'precondition_failed';
  if (status >= 300 && status < 400) return 'moved';
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  return 'unexpected';
}

/** Retry-After as seconds: either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // Otherwise only an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`): Date.parse alone is lenient.
  if (!/^[A-Za-z]{3},? .*\d{2}:\d{2}:\d{2} GMT$/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

export function errorForResponse(res: Response, what: string): CaldavError {
  const failure = classifyStatus(res.status) ?? 'unexpected';
  return new CaldavError(failure, `${what}: HTTP ${res.status}`, res.status, parseRetryAfter(res.headers.get('retry-after')));
}

/**
 * Always answer with Basic: iCloud offers two challenges (`X-MobileMe-AuthToken` and
 * `Basic`) and only Basic is usable with an app-specific password, so we send it up front.
 */
export const basicAuth = (creds: DavCredentials): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`,
});

export interface DavFetchOptions {
  timeoutMs: number;
  /** The hosts that may receive the credentials (`CALDAV_ALLOWED_HOSTS`); every URL is checked. */
  allowedHosts: AllowedHosts;
  /** No request runs past this time (ms since epoch): each one's timeout is cut to what is left. */
  deadline?: number;
  /** Underlying fetch (tests and benchmarks wrap it to count requests). */
  fetch?: typeof fetch;
}

/**
 * The only way a CalDAV request leaves the connector: a fetch that refuses (before sending
 * anything) a URL that is not a trusted host over https, never follows a redirect (a 3xx is
 * returned to the caller), has a timeout on every request, and turns network failures and
 * timeouts into transient CaldavErrors. Node's fetch keeps connections alive, so a warm
 * container reuses its TLS connection to the calendar host.
 */
export function davFetch({ timeoutMs, allowedHosts, deadline, fetch: base = globalThis.fetch }: DavFetchOptions): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const untrusted = untrustedReason(url, allowedHosts);
    if (untrusted) throw new CaldavError('untrusted', `CalDAV request refused: ${untrusted}`);
    const ms = deadline === undefined ? timeoutMs : Math.min(timeoutMs, Math.floor(deadline - Date.now()));
    if (ms <= 0) throw new CaldavError('transient', 'CalDAV request not started: out of time');
    const timeout = AbortSignal.timeout(ms);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      return await base(input, { ...init, redirect: 'manual', signal });
    } catch (err) {
      const name = (err as Error).name;
      const why = name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${ms} ms` : 'network error';
      throw new CaldavError('transient', `CalDAV request ${why}`);
    }
  };
}
