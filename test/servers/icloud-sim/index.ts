/**
 * A stricter iCloud for tests (issue #11): proxies in front of a real Radicale that behave
 * the way public client code and issue trackers report iCloud's CalDAV server behaves.
 * `docs/icloud.md` lists each behaviour, its source, and the test that imitates it.
 *
 * Hosts (all loopback, port always explicit):
 * - the canonical host (`url`, 127.0.0.1 — plays `caldav.icloud.com`) answers only `/`,
 *   `/.well-known/caldav` and the principal `/<dsid>/principal/`; everything else is 404.
 *   Its principal names the calendar home as an absolute URL on the account's *current*
 *   partition: `http://127.0.0.2:PORT/<dsid>/calendars/` (iCloud: `https://pNN-caldav.icloud.com:443/…`).
 * - two partition hosts (`partitionUrls`, 127.0.0.2 — play `pNN-caldav.icloud.com`) serve the
 *   home, calendars and objects. After `movePartition()` the old one answers 403 (or the
 *   status chosen) for everything under the account.
 *
 * Paths are iCloud's: principal `/<dsid>/principal/`, home `/<dsid>/calendars/`, calendars
 * `/<dsid>/calendars/<slug>/` (the Radicale folder name). `<dsid>` is a number derived from
 * the Apple ID. The account is the Basic-auth user name; Radicale checks the password.
 *
 * What it does on top of Radicale:
 * - 401: empty body, two `WWW-Authenticate` lines (`X-MobileMe-AuthToken` and `Basic`, realm `MMCalDav`);
 * - 403 for a calendar or account path that is not the caller's;
 * - a UID is unique across the account: a PUT whose UID lives in another object of the
 *   account (another calendar, or another name) is 412 — Radicale alone would store a second copy;
 * - optional ETag-less PUT answers (`setEtaglessPuts`);
 * - per-account throttling: every request of the account answers 503 with a `Retry-After`
 *   shorter than the throttle (`throttle`);
 * - read-after-write lag: for `setReadLag(ms)` after a write, GET and REPORT/PROPFIND answer
 *   the object's previous state;
 * - sync tokens expire: after `expireSyncTokens(user)`, a `sync-collection` REPORT with a token
 *   issued before the call answers a bare 403 (no body, no `valid-sync-token` element), as
 *   public iCloud clients report; an empty token (initial sync) still works;
 * - Apple's XML: per-element default namespaces, missing properties in a separate 404
 *   propstat, a home listing with `inbox/`, `outbox/`, `notification/` and a VTODO-only
 *   `tasks/`, a calendar-query that also lists the collection itself, calendar-data in CDATA;
 * - 400 (HTML) for a PROPFIND/REPORT body with whitespace before `<?xml`;
 * - records the scheduling mails iCloud would send for each write (`mails`, rule below).
 *
 * Scheduling-mail rule (an assumption, pessimistic on purpose — no source settles it):
 * for a successful PUT (invitation when the object is new, update otherwise) or DELETE
 * (cancellation) of an event, with the account's address being its Apple ID:
 * 1. every ATTENDEE other than the account that lacks `SCHEDULE-AGENT=CLIENT` gets a mail
 *    (RFC 6638: the server schedules for that attendee unless told the client does);
 * 2. when the ORGANIZER is someone else and lacks `SCHEDULE-AGENT=CLIENT`, every ATTENDEE
 *    other than the account gets an "event changed" mail (what Cal.com users received until
 *    Cal.com put the parameter on ORGANIZER as well), and the organizer gets a reply if the
 *    account is one of the attendees.
 * So an event with the parameter on ORGANIZER and on every ATTENDEE causes no mail.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { parseIcs } from '../../harness/ics.js';
import { startProxy, type ProxiedRequest, type Proxy, type ResponseHeaders } from '../proxy.js';
import type { CalendarSpec, RadicaleServer } from '../radicale.js';
import { CALDAV, child, children, CS, DAV, el, parseXml, serializeICloud, text, textOf, walk, type XmlElement } from './xml.js';

/** iCloud's two 401 challenges (the order is an assumption: the non-Basic one first, so a client that takes the first fails). */
export const ICLOUD_SIM_CHALLENGES = ['X-MobileMe-AuthToken realm="MMCalDav"', 'Basic realm="MMCalDav"'];

/** An iCloud account's usual calendars: Home, Work, and the VTODO-only Reminders list at `tasks/`. */
/** The simulator's hosts (the canonical host and the partition hosts): CALDAV_ALLOWED_HOSTS for tests against it. */
export const SIM_HOSTS = ['127.0.0.1', '127.0.0.2'];

export const ICLOUD_SIM_CALENDARS: CalendarSpec[] = [
  { slug: 'home', displayName: 'Home' },
  { slug: 'work', displayName: 'Work' },
  { slug: 'tasks', displayName: 'Reminders', components: ['VTODO'] },
];

/** Collections iCloud lists in every home that are not calendars. */
const SPECIAL = ['inbox', 'outbox', 'notification'] as const;

export interface ICloudSimOptions {
  radicale: RadicaleServer;
  /** What the old partition answers after `movePartition()`: 403 (default) or 404. */
  movedStatus?: 403 | 404;
  etaglessPuts?: boolean;
  readLagMs?: number;
}

export interface SimRequest {
  /** Origin of the host that received it (`url` or one of `partitionUrls`). */
  origin: string;
  method: string;
  /** Path as the client sent it (iCloud paths). */
  path: string;
  /** Basic-auth user name, if any. */
  user?: string;
  /** Status sent back (0 until answered). */
  status: number;
  /** ms since epoch when it arrived. */
  at: number;
  /** Answered 503 by the account's throttle. */
  throttled: boolean;
  /** Request headers (lower-case names). */
  headers: Record<string, string>;
}

export interface SimMail {
  at: number;
  user: string;
  method: 'PUT' | 'DELETE';
  /** The object's path (iCloud path). */
  path: string;
  uid: string;
  to: string;
  kind: 'invitation' | 'update' | 'cancellation' | 'reply';
  reason: 'attendee-without-schedule-agent-client' | 'organizer-without-schedule-agent-client';
}

export interface StoredObject {
  /** Calendar folder (the `<slug>` of `/<dsid>/calendars/<slug>/`). */
  calendar: string;
  /** Resource name, e.g. `0A1B….ics`. */
  name: string;
  uid: string | undefined;
  text: string;
}

export interface ICloudSim {
  /** The canonical host (`caldav.icloud.com`): `http://127.0.0.1:PORT`. */
  url: string;
  /** The partition every account starts on: `http://127.0.0.2:PORT`. */
  partitionUrl: string;
  /** Both partitions, in move order. */
  partitionUrls: string[];
  /** The partition an account lives on now. */
  partitionUrlOf(user: string): string;
  /** The account's number in iCloud paths. */
  dsid(user: string): string;
  /** `<partition>/<dsid>/calendars/<slug>/` on the account's current partition. */
  calendarUrl(user: string, slug: string): string;
  /** Moves the account (every account, without `user`) to the other partition; returns its new partition URL. */
  movePartition(user?: string): string;
  /** For `ms`, every request of the account answers 503 with `Retry-After: retryAfterSeconds`. */
  throttle(user: string, ms: number, retryAfterSeconds: number): void;
  /** Requests answered 503 by the account's throttle. */
  throttledRequests(user: string): SimRequest[];
  /** Scheduling mails iCloud would have sent (see the module comment for the rule). */
  mails: SimMail[];
  /** Every request, in arrival order. */
  requests: SimRequest[];
  /** Clears `requests` and `mails`. */
  reset(): void;
  setEtaglessPuts(on: boolean): void;
  setReadLag(ms: number): void;
  /** Every sync token the account was given until now stops working (a bare 403 in sync-collection). */
  expireSyncTokens(user: string): void;
  /** sync-collection REPORTs answered 403 because their token had expired. */
  expiredTokenAnswers: number;
  /**
   * Moves the event with this UID from one calendar to another the way the Calendar app
   * does: stored under a new random name in the target, deleted from the source. Returns
   * the new object's URL (current partition).
   */
  moveEvent(user: string, uid: string, fromSlug: string, toSlug: string): Promise<string>;
  /** Every object of the account, read from Radicale's storage. */
  objects(user: string): Promise<StoredObject[]>;
  objectsWithUid(user: string, uid: string): Promise<StoredObject[]>;
  /** Stops the proxies (not Radicale). */
  stop(): Promise<void>;
}

interface Ctx {
  entry: SimRequest;
  user?: string;
  /** iCloud path without the query. */
  icPath: string;
  /** Radicale path (with the query) to forward to. */
  upPath?: string;
  depth0?: boolean;
  body?: string;
  release?: () => void;
  /** For writes: the object before the write (from storage). */
  before?: StoredObject;
  /** For writes with read lag: the object's state before the write, as GET answered it. */
  lagSnapshot?: Snapshot;
  target?: { calendar: string; name: string };
}

interface Snapshot {
  status: number;
  etag?: string;
  body: string;
}

const pathOnly = (p: string) => (p.includes('?') ? p.slice(0, p.indexOf('?')) : p);
const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

function basicUser(header: string | undefined): string | undefined {
  const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? decoded.slice(0, colon) : undefined;
}

export function simDsid(user: string): string {
  return String(100_000_000 + (parseInt(createHash('sha256').update(user.toLowerCase()).digest('hex').slice(0, 8), 16) % 900_000_000));
}

/** Starts the canonical host and two partition hosts in front of `radicale`. */
export async function startICloudSim(opts: ICloudSimOptions): Promise<ICloudSim> {
  const { radicale } = opts;
  const movedStatus = opts.movedStatus ?? 403;
  let etagless = opts.etaglessPuts ?? false;
  let readLagMs = opts.readLagMs ?? 0;
  const requests: SimRequest[] = [];
  const mails: SimMail[] = [];
  const throttles = new Map<string, { until: number; retryAfter: number }>();
  const partitionOverride = new Map<string, number>();
  let defaultPartition = 0;
  const lagged = new Map<string, { until: number; old: Snapshot }>();
  /** When each sync token was first handed out, and from when on the account's older ones are expired. */
  const tokenIssued = new Map<string, number>();
  const tokensExpiredAt = new Map<string, number>();
  let expiredTokenAnswers = 0;
  const ctxs = new WeakMap<ProxiedRequest, Ctx>();
  const locks = new Map<string, Promise<void>>();
  const storage = path.join(radicale.dir, 'collections', 'collection-root');
  const upstreamAgent = new http.Agent({ keepAlive: true });

  const partitions: Proxy[] = [];
  const partitionOf = (user: string) => partitionOverride.get(user.toLowerCase()) ?? defaultPartition;
  const partitionUrlOf = (user: string) => partitions[partitionOf(user)]!.url;

  // ---- Radicale storage (the account's objects, for UID uniqueness, mails and moves) ----
  const userDir = (user: string) => path.join(storage, user);
  async function calendarsOf(user: string): Promise<Array<{ slug: string; components: string[] }>> {
    let entries: string[];
    try {
      entries = (await readdir(userDir(user), { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
    } catch {
      return [];
    }
    const out = [];
    for (const slug of entries) {
      let components = ['VEVENT', 'VTODO', 'VJOURNAL'];
      try {
        const props = JSON.parse(await readFile(path.join(userDir(user), slug, '.Radicale.props'), 'utf8')) as Record<string, string>;
        if (props['C:supported-calendar-component-set']) components = props['C:supported-calendar-component-set'].split(',');
      } catch {
        // no props: Radicale's defaults
      }
      out.push({ slug, components });
    }
    return out;
  }
  const uidOf = (ics: string) => /^UID[;:](?:[^:\r\n]*:)?(.*)$/m.exec(ics.replace(/\r?\n[ \t]/g, ''))?.[1]?.trim();
  async function objects(user: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    for (const { slug } of await calendarsOf(user)) {
      const dir = path.join(userDir(user), slug);
      for (const name of (await readdir(dir)).filter((n) => !n.startsWith('.'))) {
        try {
          const t = await readFile(path.join(dir, name), 'utf8');
          out.push({ calendar: slug, name, uid: uidOf(t), text: t });
        } catch {
          // deleted meanwhile
        }
      }
    }
    return out;
  }

  /** Serialises the account's writes (check + write), released when the answer is known or after 5 s. */
  async function lock(user: string): Promise<() => void> {
    const key = user.toLowerCase();
    const prev = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    locks.set(
      key,
      prev.then(() => mine),
    );
    await prev;
    const timer = setTimeout(release, 5_000);
    timer.unref();
    return () => {
      clearTimeout(timer);
      release();
    };
  }

  // ---- paths ----
  const encUser = (user: string) => `/${encodeURIComponent(user)}/`;
  /** iCloud path → Radicale path for `user` (undefined if it is not under the account). */
  function toRadicale(icPath: string, user: string): string | undefined {
    const d = simDsid(user);
    if (icPath === `/${d}/principal/`) return encUser(user);
    if (icPath.startsWith(`/${d}/calendars/`)) return encUser(user) + icPath.slice(`/${d}/calendars/`.length);
    return undefined;
  }
  /** Radicale href → iCloud path. */
  function toICloud(radPath: string, user: string): string {
    const segs = radPath.split('/');
    if (segs.length >= 3 && segs[0] === '' && safeDecode(segs[1]!).toLowerCase() === user.toLowerCase()) {
      return `/${simDsid(user)}/calendars/${segs.slice(2).join('/')}`;
    }
    return radPath;
  }

  // ---- answers ----
  const log = (origin: string, req: ProxiedRequest, user: string | undefined): SimRequest => {
    const entry: SimRequest = { origin, method: req.method, path: req.path, user, status: 0, at: Date.now(), throttled: false, headers: req.headers };
    requests.push(entry);
    return entry;
  };
  const reply = (ctx: Ctx, status: number, headers: Record<string, string | string[]> = {}, body = '') => {
    ctx.entry.status = status;
    ctx.release?.();
    return { status, headers, body };
  };
  const unauthorized = (ctx: Ctx) => reply(ctx, 401, { 'www-authenticate': [...ICLOUD_SIM_CHALLENGES], 'content-type': 'text/plain' }, '');
  const multistatus = (ctx: Ctx, root: XmlElement) => reply(ctx, 207, { 'content-type': 'text/xml; charset=UTF-8' }, serializeICloud(root));

  async function upstreamGet(upPath: string, authorization: string): Promise<Snapshot> {
    return new Promise((resolve, reject) => {
      const r = http.request(`${radicale.url}${upPath}`, { method: 'GET', headers: { authorization }, agent: upstreamAgent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, body: Buffer.concat(chunks).toString('utf8') }));
      });
      r.on('error', reject);
      r.end();
    });
  }

  const lagFor = (upPath: string) => {
    const k = safeDecode(pathOnly(upPath));
    const hit = lagged.get(k);
    if (hit && hit.until > Date.now()) return hit;
    if (hit) lagged.delete(k);
    return undefined;
  };

  // ---- the request hook shared by all hosts ----
  const onRequest = (origin: string, role: 'canonical' | number) => async (req: ProxiedRequest) => {
    const user = basicUser(req.headers.authorization);
    const icPath = pathOnly(req.path);
    const ctx: Ctx = { entry: log(origin, req, user), user, icPath, body: req.body };
    ctxs.set(req, ctx);

    if (!user) return unauthorized(ctx);
    const t = throttles.get(user.toLowerCase());
    if (t && t.until > Date.now()) {
      ctx.entry.throttled = true;
      return reply(ctx, 503, { 'retry-after': String(t.retryAfter), 'content-type': 'text/plain' }, '');
    }
    if (['PROPFIND', 'REPORT'].includes(req.method) && /^\s+<\?xml/.test(req.body)) {
      return reply(ctx, 400, { 'content-type': 'text/html' }, '<html><body><h1>Bad Request</h1></body></html>');
    }

    if (req.method === 'REPORT' && /sync-collection/.test(req.body)) {
      const token = /<(?:[\w-]+:)?sync-token(?:\s[^>]*)?>\s*([^<]*?)\s*<\//.exec(req.body)?.[1] ?? '';
      const expiredAt = tokensExpiredAt.get(user.toLowerCase());
      if (token && expiredAt !== undefined && (tokenIssued.get(token) ?? 0) <= expiredAt) {
        expiredTokenAnswers += 1;
        return reply(ctx, 403, {}, '');
      }
    }

    const d = simDsid(user);
    if (icPath === '/' || icPath === '/.well-known/caldav' || icPath === '/.well-known/caldav/') {
      ctx.upPath = req.path;
      return undefined;
    }
    const m = /^\/(\d+)\/(principal|calendars)\//.exec(icPath);
    if (!m) return reply(ctx, 404, { 'content-type': 'text/plain' }, '');
    if (m[1] !== d) return reply(ctx, 403, { 'content-type': 'text/plain' }, '');

    if (role === 'canonical') {
      // caldav.icloud.com: the principal only.
      if (m[2] !== 'principal' || req.method !== 'PROPFIND') return reply(ctx, 404, { 'content-type': 'text/plain' }, '');
    } else if (role !== partitionOf(user)) {
      return reply(ctx, movedStatus, { 'content-type': 'text/plain' }, '');
    }
    ctx.upPath = toRadicale(icPath, user)! + req.path.slice(icPath.length);
    if (m[2] === 'principal') {
      ctx.depth0 = true;
      return undefined;
    }

    // Under the home: the special collections and the 403 for what is not a calendar of the account.
    const rest = icPath.slice(`/${d}/calendars/`.length);
    if (rest === '') return undefined; // the home itself
    const slug = rest.split('/')[0]!;
    const calendars = await calendarsOf(user);
    const special = (SPECIAL as readonly string[]).includes(slug) || (slug === 'tasks' && !calendars.some((c) => c.slug === 'tasks'));
    if (special) {
      if (req.method !== 'PROPFIND' || rest !== `${slug}/`) return reply(ctx, 403, { 'content-type': 'text/plain' }, '');
      const ms = el(DAV, 'multistatus', [syntheticRow(`/${d}/calendars/${slug}/`, slug, requestedProps(req.body))]);
      return multistatus(ctx, ms);
    }
    if (!calendars.some((c) => c.slug === slug)) return reply(ctx, 403, { 'content-type': 'text/plain' }, '');

    const name = rest.slice(slug.length + 1);
    const isObject = name !== '' && !name.includes('/');
    if (isObject && (req.method === 'PUT' || req.method === 'DELETE')) {
      ctx.release = await lock(user);
      ctx.target = { calendar: slug, name: safeDecode(name) };
      const all = await objects(user);
      ctx.before = all.find((o) => o.calendar === slug && o.name === ctx.target!.name);
      if (req.method === 'PUT') {
        const uid = uidOf(req.body);
        if (uid && all.some((o) => o.uid === uid && !(o.calendar === slug && o.name === ctx.target!.name))) {
          return reply(ctx, 412, { 'content-type': 'text/plain' }, '');
        }
      }
      if (readLagMs > 0) ctx.lagSnapshot = await upstreamGet(ctx.upPath, req.headers.authorization!);
      return undefined;
    }
    if (isObject && req.method === 'GET') {
      const lag = lagFor(ctx.upPath);
      if (lag) {
        if (lag.old.status !== 200) return reply(ctx, 404, { 'content-type': 'text/plain' }, '');
        return reply(ctx, 200, { 'content-type': 'text/calendar; charset=utf-8', ...(lag.old.etag ? { etag: lag.old.etag } : {}) }, lag.old.body);
      }
    }
    return undefined;
  };

  const mapRequest = (req: ProxiedRequest) => {
    const ctx = ctxs.get(req);
    if (!ctx?.upPath) return undefined;
    const out: { path: string; headers?: Record<string, string>; body?: string } = { path: ctx.upPath };
    if (ctx.depth0) out.headers = { depth: '0' };
    if (req.method === 'REPORT' && ctx.user) {
      const user = ctx.user;
      out.body = req.body.replace(/(<(?:[\w-]+:)?href(?:\s[^>]*)?>)\s*([^<]*?)\s*(<\/(?:[\w-]+:)?href>)/g, (_m, open: string, href: string, close: string) => {
        let p = href;
        try {
          p = new URL(href, 'http://x').pathname;
        } catch {
          // keep
        }
        return `${open}${toRadicale(p, user) ?? href}${close}`;
      });
    }
    return out;
  };

  // ---- response rewriting ----
  const rewrite = (req: ProxiedRequest, body: string, headers: ResponseHeaders, status: number): string => {
    const ctx = ctxs.get(req);
    if (!ctx) return body;
    ctx.entry.status = status;
    try {
      if (status === 401) {
        headers['www-authenticate'] = [...ICLOUD_SIM_CHALLENGES];
        delete headers['content-type'];
        return '';
      }
      const user = ctx.user!;
      if (ctx.target && status >= 200 && status < 300) {
        const icPath = ctx.icPath;
        if (req.method === 'PUT') {
          if (etagless) delete headers.etag;
          recordMails(user, 'PUT', icPath, req.body, ctx.before ? 'update' : 'invitation');
        } else if (ctx.before) {
          recordMails(user, 'DELETE', icPath, ctx.before.text, 'cancellation');
        }
        if (ctx.lagSnapshot && readLagMs > 0) lagged.set(safeDecode(pathOnly(ctx.upPath!)), { until: Date.now() + readLagMs, old: ctx.lagSnapshot });
      }
      if (headers.location && typeof headers.location === 'string' && user) {
        const loc = headers.location;
        if (loc.startsWith('/')) headers.location = toICloud(loc, user);
      }
      if (status === 207 && user) return reshape(req, ctx, body);
      return body;
    } finally {
      ctx.release?.();
    }
  };

  function reshape(req: ProxiedRequest, ctx: Ctx, body: string): string {
    const user = ctx.user!;
    let root: XmlElement;
    try {
      root = parseXml(body);
    } catch {
      return body;
    }
    const d = simDsid(user);
    const home = `/${d}/calendars/`;
    const upTarget = safeDecode(pathOnly(ctx.upPath ?? ''));
    // hrefs: principal links, the absolute home on the current partition, everything else under /<dsid>/calendars/.
    for (const { el: e, parent } of [...walk(root)]) {
      if (e.ns !== DAV || e.name !== 'href' || !parent) continue;
      const href = textOf(e).trim();
      let mapped: string;
      if (parent.ns === DAV && ['current-user-principal', 'principal-URL', 'owner'].includes(parent.name)) mapped = `/${d}/principal/`;
      else if (parent.ns === CALDAV && parent.name === 'calendar-home-set') mapped = `${partitionUrlOf(user)}${home}`;
      else if (parent.name === 'response' && ctx.depth0 && safeDecode(href) === upTarget) mapped = ctx.icPath;
      else mapped = toICloud(href, user);
      e.children = [text(mapped)];
    }
    const responses = children(root, DAV, 'response');
    // Remember when each sync token was handed out (for expireSyncTokens).
    for (const { el: e } of [...walk(root)]) {
      if (e.ns === DAV && e.name === 'sync-token') {
        const t = textOf(e).trim();
        if (t && !tokenIssued.has(t)) tokenIssued.set(t, Date.now());
      }
    }

    // Read-after-write lag: rows of objects written a moment ago show their previous state.
    if (readLagMs > 0) {
      for (const r of responses) {
        const up = toRadicale(pathOnly(textOf(child(r, DAV, 'href')).trim()), user);
        const lag = up && lagFor(up);
        if (!lag) continue;
        if (lag.old.status !== 200) {
          root.children = root.children.filter((c) => c !== r);
          continue;
        }
        for (const { el: e } of [...walk(r)]) {
          if (e.ns === DAV && e.name === 'getetag' && lag.old.etag) e.children = [text(lag.old.etag)];
          if (e.ns === CALDAV && e.name === 'calendar-data') e.children = [text(lag.old.body)];
        }
      }
    }

    // calendar-data in CDATA.
    for (const { el: e } of [...walk(root)]) {
      if (e.ns === CALDAV && e.name === 'calendar-data') e.children = [{ text: textOf(e), cdata: true }];
    }

    const requested = requestedProps(req.body);
    if (req.method === 'PROPFIND' && ctx.icPath === home && !ctx.depth0) {
      // The home row is a plain collection here (the principal is elsewhere); add the non-calendar collections.
      for (const r of children(root, DAV, 'response')) {
        if (textOf(child(r, DAV, 'href')).trim() !== home) continue;
        for (const { el: e } of [...walk(r)]) {
          if (e.ns === DAV && e.name === 'resourcetype') e.children = e.children.filter((c) => !('name' in c && c.name === 'principal'));
        }
      }
      if (req.headers.depth === '1') {
        const hrefs = new Set(children(root, DAV, 'response').map((r) => textOf(child(r, DAV, 'href')).trim()));
        for (const slug of [...SPECIAL, 'tasks']) {
          const href = `${home}${slug}/`;
          if (!hrefs.has(href)) root.children.push(syntheticRow(href, slug, requested));
        }
      }
    }
    if (req.method === 'REPORT') {
      const q = safeParse(req.body);
      const collection = ctx.icPath.endsWith('/') ? ctx.icPath : undefined;
      if (q && q.ns === CALDAV && q.name === 'calendar-query' && collection) {
        // iCloud may list the collection itself among the results (python-caldav's "icloud hack").
        const self = collectionRow(collection, requested);
        root.children.unshift(self);
      }
    }
    return serializeICloud(root);
  }

  function recordMails(user: string, method: 'PUT' | 'DELETE', icPath: string, ics: string, kind: SimMail['kind']) {
    const ev = parseIcs(ics).events[0];
    if (!ev) return;
    const me = user.toLowerCase();
    const addr = (v: string) => v.replace(/^mailto:/i, '').toLowerCase();
    const client = (p: { params: Record<string, string> }) => (p.params['SCHEDULE-AGENT'] ?? '').toUpperCase() === 'CLIENT';
    const org = ev.get('ORGANIZER');
    const attendees = ev.all('ATTENDEE').filter((a) => addr(a.value) !== me);
    const uid = ev.get('UID')?.value ?? '';
    const sent = new Set<string>();
    const send = (to: string, k: SimMail['kind'], reason: SimMail['reason']) => {
      if (sent.has(`${to}\n${k}`)) return;
      sent.add(`${to}\n${k}`);
      mails.push({ at: Date.now(), user, method, path: icPath, uid, to, kind: k, reason });
    };
    for (const a of attendees) if (!client(a)) send(addr(a.value), kind, 'attendee-without-schedule-agent-client');
    if (org && addr(org.value) !== me && !client(org)) {
      for (const a of attendees) send(addr(a.value), kind, 'organizer-without-schedule-agent-client');
      if (ev.all('ATTENDEE').some((a) => addr(a.value) === me)) send(addr(org.value), 'reply', 'organizer-without-schedule-agent-client');
    }
  }

  // ---- start the hosts ----
  const common = { target: radicale.url, mapRequest, rewriteResponse: rewrite };
  const started: Proxy[] = [];
  try {
    for (const i of [0, 1]) {
      let origin = '';
      const p = await startProxy({ ...common, host: '127.0.0.2', onRequest: (req) => onRequest(origin, i)(req) });
      origin = p.url;
      started.push(p);
      partitions.push(p);
    }
    let canonicalOrigin = '';
    const canonical = await startProxy({ ...common, onRequest: (req) => onRequest(canonicalOrigin, 'canonical')(req) });
    canonicalOrigin = canonical.url;
    started.push(canonical);

    return {
      url: canonical.url,
      partitionUrl: partitions[0]!.url,
      partitionUrls: partitions.map((p) => p.url),
      partitionUrlOf,
      dsid: simDsid,
      calendarUrl: (user, slug) => `${partitionUrlOf(user)}/${simDsid(user)}/calendars/${slug}/`,
      movePartition(user) {
        if (user) partitionOverride.set(user.toLowerCase(), (partitionOf(user) + 1) % partitions.length);
        else {
          defaultPartition = (defaultPartition + 1) % partitions.length;
          for (const [u, i] of partitionOverride) partitionOverride.set(u, (i + 1) % partitions.length);
        }
        return user ? partitionUrlOf(user) : partitions[defaultPartition]!.url;
      },
      throttle(user, ms, retryAfterSeconds) {
        throttles.set(user.toLowerCase(), { until: Date.now() + ms, retryAfter: retryAfterSeconds });
      },
      throttledRequests: (user) => requests.filter((r) => r.throttled && r.user?.toLowerCase() === user.toLowerCase()),
      mails,
      requests,
      reset() {
        requests.length = 0;
        mails.length = 0;
      },
      setEtaglessPuts(on) {
        etagless = on;
      },
      setReadLag(ms) {
        readLagMs = ms;
        if (ms === 0) lagged.clear();
      },
      expireSyncTokens(user) {
        tokensExpiredAt.set(user.toLowerCase(), Date.now());
      },
      get expiredTokenAnswers() {
        return expiredTokenAnswers;
      },
      async moveEvent(user, uid, fromSlug, toSlug) {
        const release = await lock(user);
        try {
          const found = (await objects(user)).find((o) => o.uid === uid && o.calendar === fromSlug);
          if (!found) throw new Error(`moveEvent: no object with UID ${uid} in ${fromSlug}`);
          const name = `${randomUUID().toUpperCase()}.ics`;
          await writeFile(path.join(userDir(user), toSlug, name), found.text);
          await rm(path.join(userDir(user), fromSlug, found.name));
          return `${partitionUrlOf(user)}/${simDsid(user)}/calendars/${toSlug}/${name}`;
        } finally {
          release();
        }
      },
      objects,
      objectsWithUid: async (user, uid) => (await objects(user)).filter((o) => o.uid === uid),
      async stop() {
        await Promise.all(started.map((p) => p.stop()));
        upstreamAgent.destroy();
      },
    };
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    upstreamAgent.destroy();
    throw err;
  }
}

function safeParse(body: string): XmlElement | undefined {
  try {
    return body.trim() ? parseXml(body) : undefined;
  } catch {
    return undefined;
  }
}

/** The properties a PROPFIND/REPORT asks for (empty: allprop or no body). */
function requestedProps(body: string): Array<{ ns: string; name: string }> {
  const root = safeParse(body);
  const prop = root && children(root, DAV, 'prop')[0];
  return prop ? children(prop).map((p) => ({ ns: p.ns, name: p.name })) : [];
}

const PRIV = (...names: Array<[string, string]>) => el(DAV, 'current-user-privilege-set', names.map(([ns, n]) => el(DAV, 'privilege', [el(ns, n)])));
const COMPS = (...names: string[]) => el(CALDAV, 'supported-calendar-component-set', names.map((n) => el(CALDAV, 'comp', [], { name: n })));

/** A home-listing row for inbox/, outbox/, notification/ or a VTODO-only tasks/, as iCloud shows them. */
function syntheticRow(href: string, slug: string, requested: Array<{ ns: string; name: string }>): XmlElement {
  const known: XmlElement[] = [];
  const rt = (...extra: XmlElement[]) => el(DAV, 'resourcetype', [el(DAV, 'collection'), ...extra]);
  if (slug === 'inbox') known.push(rt(el(CALDAV, 'schedule-inbox')), COMPS('VEVENT'), PRIV([DAV, 'read'], [CALDAV, 'schedule-deliver']));
  if (slug === 'outbox') known.push(rt(el(CALDAV, 'schedule-outbox')), COMPS('VEVENT', 'VTODO'), PRIV([DAV, 'read'], [CALDAV, 'schedule-send']));
  if (slug === 'notification') known.push(rt(el(CS, 'notification')), PRIV([DAV, 'read'], [DAV, 'unbind']));
  if (slug === 'tasks') {
    known.push(rt(el(CALDAV, 'calendar')), COMPS('VTODO'), el(DAV, 'displayname', [text('Reminders')]));
    known.push(PRIV([DAV, 'read'], [DAV, 'write'], [DAV, 'write-content'], [DAV, 'bind'], [DAV, 'unbind']));
  }
  return row(href, known, requested);
}

function collectionRow(href: string, requested: Array<{ ns: string; name: string }>): XmlElement {
  const known = [el(DAV, 'getetag', [text(`"C=${createHash('sha1').update(href).digest('hex').slice(0, 12)}"`)])];
  return row(href, known, requested);
}

/** A response with the known requested properties in a 200 propstat and the rest in a separate 404 propstat. */
function row(href: string, known: XmlElement[], requested: Array<{ ns: string; name: string }>): XmlElement {
  const want = requested.length ? requested : known.map((k) => ({ ns: k.ns, name: k.name }));
  const found = want.map((w) => known.find((k) => k.ns === w.ns && k.name === w.name)).filter((k): k is XmlElement => !!k);
  const missing = want.filter((w) => !known.some((k) => k.ns === w.ns && k.name === w.name)).map((w) => el(w.ns, w.name));
  const propstat = (props: XmlElement[], status: string) => el(DAV, 'propstat', [el(DAV, 'prop', props), el(DAV, 'status', [text(status)])]);
  return el(DAV, 'response', [
    el(DAV, 'href', [text(href)]),
    ...(found.length ? [propstat(found, 'HTTP/1.1 200 OK')] : []),
    ...(missing.length ? [propstat(missing, 'HTTP/1.1 404 Not Found')] : []),
  ]);
}
