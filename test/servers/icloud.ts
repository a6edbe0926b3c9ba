/**
 * An iCloud-shaped front for a Radicale server, reproducing what iCloud does on the wire:
 *
 * - Proxy A plays `caldav.icloud.com`: it serves only `/`, `/.well-known/caldav` and a
 *   principal `/<user>/` (PROPFIND Depth 0); any other path is 404. Its `calendar-home-set`
 *   is an absolute URL on proxy B (iCloud: `https://pNN-caldav.icloud.com:443/<dsid>/calendars/`),
 *   so a client that resolves calendar hrefs against A's host fails.
 * - Proxy B plays `pNN-caldav.icloud.com`: it forwards everything. Its Depth-1 listing of the
 *   home also lists `inbox/`, `outbox/` and `notification/`, as iCloud does, beside the calendars.
 * - Every 401 (A or B) carries two challenges, as iCloud sends:
 *   `WWW-Authenticate: X-MobileMe-AuthToken realm="Newcastle"` and `WWW-Authenticate: Basic realm="Newcastle"`.
 *
 * Start Radicale with `calendars: { user: ICLOUD_LIKE_CALENDARS }` to get a VTODO-only
 * 'Reminders' list beside 'Home', as on iCloud.
 */
import { startProxy, type ProxiedRequest, type Proxy, type ResponseHeaders } from './proxy.js';
import type { CalendarSpec, RadicaleServer } from './radicale.js';

/** iCloud's two 401 challenges, in iCloud's order. */
export const ICLOUD_CHALLENGES = ['X-MobileMe-AuthToken realm="Newcastle"', 'Basic realm="Newcastle"'];

/** 'Home' (VEVENT) plus a VTODO-only 'Reminders' list, as an iCloud account has. */
export const ICLOUD_LIKE_CALENDARS: CalendarSpec[] = [
  { slug: 'home', displayName: 'Home' },
  { slug: 'reminders', displayName: 'Reminders', components: ['VTODO'] },
];

export interface ICloudLike {
  /** The `caldav.icloud.com` host: proxy A. */
  url: string;
  /** The `pNN-caldav.icloud.com` host: proxy B (calendar home and calendars live here). */
  partitionUrl: string;
  a: Proxy;
  b: Proxy;
  /** Stops both proxies (not the Radicale server). */
  stop(): Promise<void>;
}

const PRINCIPAL = /^\/[^/]+\/$/;

function pathOf(req: ProxiedRequest): string {
  const q = req.path.indexOf('?');
  return q === -1 ? req.path : req.path.slice(0, q);
}

function fixChallenges(headers: ResponseHeaders, status: number): void {
  if (status === 401) headers['www-authenticate'] = [...ICLOUD_CHALLENGES];
}

/** Makes every `calendar-home-set` href an absolute URL on `base`. */
export function absolutizeHomeSet(body: string, base: string): string {
  return body.replace(
    /(<(?:[\w-]+:)?calendar-home-set\b[^>]*>\s*<((?:[\w-]+:)?href)\b[^>]*>)\s*([^<]*?)\s*(<\/\2>)/g,
    (_m, open: string, _tag: string, href: string, close: string) => `${open}${href.startsWith('/') ? base + href : href}${close}`,
  );
}

/** Adds iCloud's non-calendar collections to a Depth-1 listing of `home` (a path ending in '/'). */
export function addICloudExtraCollections(body: string, home: string): string {
  const extra = (name: string, type: string): string =>
    `<response xmlns="DAV:"><href>${home}${name}/</href><propstat><prop><resourcetype><collection/>${type}</resourcetype></prop>` +
    `<status>HTTP/1.1 200 OK</status></propstat></response>`;
  const responses =
    extra('inbox', '<schedule-inbox xmlns="urn:ietf:params:xml:ns:caldav"/>') +
    extra('outbox', '<schedule-outbox xmlns="urn:ietf:params:xml:ns:caldav"/>') +
    extra('notification', '<notification xmlns="http://calendarserver.org/ns/"/>');
  return body.replace(/(<\/(?:[\w-]+:)?multistatus>\s*)$/, `${responses}$1`);
}

/** Starts proxies A and B in front of `radicale`. */
export async function startICloudLike(opts: { radicale: RadicaleServer; extraCollections?: boolean }): Promise<ICloudLike> {
  const { radicale, extraCollections = true } = opts;

  const b = await startProxy({
    target: radicale.url,
    rewriteResponse(req, body, headers, status) {
      fixChallenges(headers, status);
      const p = pathOf(req);
      if (extraCollections && status === 207 && req.method === 'PROPFIND' && req.headers.depth === '1' && PRINCIPAL.test(p)) {
        return addICloudExtraCollections(body, p);
      }
      return body;
    },
  });

  let a: Proxy;
  try {
    a = await startProxy({
      target: radicale.url,
      onRequest(req) {
        const p = pathOf(req);
        if (p === '/' || p === '/.well-known/caldav' || p === '/.well-known/caldav/') return undefined;
        if (PRINCIPAL.test(p) && req.method === 'PROPFIND' && req.headers.depth === '0') return undefined;
        return { status: 404, body: 'Not Found' };
      },
      rewriteResponse(req, body, headers, status) {
        fixChallenges(headers, status);
        return status === 207 && req.method === 'PROPFIND' ? absolutizeHomeSet(body, b.url) : body;
      },
    });
  } catch (err) {
    await b.stop();
    throw err;
  }

  return {
    url: a.url,
    partitionUrl: b.url,
    a,
    b,
    async stop() {
      await Promise.all([a.stop(), b.stop()]);
    },
  };
}
