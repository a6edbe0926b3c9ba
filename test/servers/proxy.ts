/**
 * A small HTTP reverse proxy for tests (node:http only): logs every request, can require
 * Basic auth, inject faults (status, Retry-After, delays, dropped sockets) and rewrite
 * responses. Listens on 127.0.0.1 on a free port; clients may keep connections alive.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as seen by the proxy (body fully read). */
export interface ProxiedRequest {
  method: string;
  /** Path and query, as sent by the client. */
  path: string;
  /** Request headers, lower-case names, repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
}

/**
 * What a fault hook may ask for instead of (or before) forwarding:
 * - `{ destroy: true }`: drop the socket without answering (a network error for the client);
 * - `{ status, headers?, body? }`: answer this instead of forwarding (e.g. 503 + Retry-After, 429);
 * - `{ delayMs }`: wait, then forward (or answer `status` if given too);
 * - `{ dropResponse: true }`: forward, let the server act, then drop the socket instead of
 *   answering (the write happened but the client never hears of it).
 */
export interface FaultResponse {
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: string;
  destroy?: boolean;
  delayMs?: number;
  dropResponse?: boolean;
}

export type FaultFn = (req: ProxiedRequest) => FaultResponse | undefined | Promise<FaultResponse | undefined>;

/** Response headers as sent to the client; set an array for repeated header lines. */
export type ResponseHeaders = Record<string, string | string[]>;

/** One request that reached the proxy, with the status sent back (0 = socket dropped). */
export interface LoggedRequest extends ProxiedRequest {
  status: number;
}

export interface BasicCredentials {
  username: string;
  password: string;
}

export interface StartProxyOptions {
  /** Upstream base URL, e.g. `http://127.0.0.1:5232`. */
  target: string;
  /** Answer 401 unless the request carries these Basic credentials (a function is read per request). */
  requireBasic?: BasicCredentials | (() => BasicCredentials);
  /** `WWW-Authenticate` values sent with that 401; default `['Basic realm="test"']`. */
  challenges?: string[];
  /** Routing/fault hook run for every request after `setFault`'s hook; return a fault to short-circuit. */
  onRequest?: FaultFn;
  /**
   * Rewrites an upstream response body (the proxy then buffers it and fixes Content-Length).
   * `headers` may be mutated (e.g. replace `www-authenticate` with an array).
   */
  rewriteResponse?: (req: ProxiedRequest, body: string, headers: ResponseHeaders, status: number) => string;
  /**
   * Changes what is forwarded upstream (after faults and auth): another path, header values
   * that replace (or, with `undefined`, remove) the client's, another body. The log keeps
   * what the client sent.
   */
  mapRequest?: (req: ProxiedRequest) => { path?: string; headers?: Record<string, string | undefined>; body?: string } | undefined;
  /** Loopback address to listen on; default `127.0.0.1` (e.g. `127.0.0.2` for a second "host"). */
  host?: string;
}

export interface Proxy {
  /** `http://<host>:PORT` (no trailing slash); host is 127.0.0.1 unless set. */
  url: string;
  port: number;
  /** Every request that reached the proxy, in order. */
  requests: LoggedRequest[];
  /** TCP connections clients opened to the proxy since the last reset (keep-alive check). */
  readonly connections: number;
  /**
   * The most requests one path (one calendar object) ever had in flight at once since the last
   * reset: a single writer per object means 1 for every path.
   */
  readonly peakInFlight: Map<string, number>;
  /** Clears `requests` and `peakInFlight`. */
  reset(): void;
  /** Sets (or clears) a fault hook, checked before `onRequest`. */
  setFault(fn: FaultFn | undefined): void;
  stop(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function hopByHop(headers: http.IncomingHttpHeaders): Set<string> {
  const set = new Set(HOP_BY_HOP);
  const conn = headers.connection;
  for (const v of Array.isArray(conn) ? conn : conn ? [conn] : []) {
    for (const name of v.split(',')) set.add(name.trim().toLowerCase());
  }
  return set;
}

function flatten(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function checkBasic(header: string | undefined, want: BasicCredentials): boolean {
  const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return false;
  return Buffer.from(m[1], 'base64').toString('utf8') === `${want.username}:${want.password}`;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the proxy on 127.0.0.1 (or `opts.host`), on a free port. */
export async function startProxy(opts: StartProxyOptions): Promise<Proxy> {
  const target = new URL(opts.target);
  const agent = new http.Agent({ keepAlive: true });
  const requests: LoggedRequest[] = [];
  const inFlight = new Map<string, number>();
  const peakInFlight = new Map<string, number>();
  let fault: FaultFn | undefined;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const bodyBuf = await readBody(req);
    const preq: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: flatten(req.headers),
      body: bodyBuf.toString('utf8'),
    };
    const entry: LoggedRequest = { ...preq, status: 0 };
    requests.push(entry);
    const objectPath = preq.path.split('?')[0]!;
    inFlight.set(objectPath, (inFlight.get(objectPath) ?? 0) + 1);
    peakInFlight.set(objectPath, Math.max(peakInFlight.get(objectPath) ?? 0, inFlight.get(objectPath)!));
    res.once('close', () => inFlight.set(objectPath, inFlight.get(objectPath)! - 1));

    const answer = (status: number, headers: ResponseHeaders, body: string | Buffer): void => {
      entry.status = status;
      const buf = typeof body === 'string' ? Buffer.from(body) : body;
      const noBody = status === 204 || status === 304 || status < 200;
      res.writeHead(status, noBody ? headers : { ...headers, 'content-length': String(buf.length) });
      res.end(noBody ? undefined : buf);
    };

    // 1. Faults and routing.
    let dropResponse = false;
    for (const fn of [fault, opts.onRequest]) {
      const f = fn ? await fn(preq) : undefined;
      if (!f) continue;
      if (f.dropResponse) {
        dropResponse = true;
        continue;
      }
      if (f.delayMs) await sleep(f.delayMs);
      if (f.destroy) {
        entry.status = 0;
        req.socket.destroy();
        return;
      }
      if (f.status !== undefined) {
        answer(f.status, { 'content-type': 'text/plain; charset=utf-8', ...f.headers }, f.body ?? `${f.status} ${http.STATUS_CODES[f.status] ?? ''}`.trim());
        return;
      }
    }

    // 2. Basic auth.
    if (opts.requireBasic) {
      const want = typeof opts.requireBasic === 'function' ? opts.requireBasic() : opts.requireBasic;
      if (!checkBasic(req.headers.authorization, want)) {
        answer(401, { 'www-authenticate': opts.challenges ?? ['Basic realm="test"'], 'content-type': 'text/plain; charset=utf-8' }, 'Unauthorized');
        return;
      }
    }

    // 3. Forward.
    const drop = hopByHop(req.headers);
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined && !drop.has(k)) headers[k] = v;
    }
    let upPath = preq.path;
    let upBody = bodyBuf;
    const mapped = opts.mapRequest?.(preq);
    if (mapped) {
      if (mapped.path !== undefined) upPath = mapped.path;
      if (mapped.body !== undefined) upBody = Buffer.from(mapped.body);
      for (const [k, v] of Object.entries(mapped.headers ?? {})) {
        if (v === undefined) delete headers[k.toLowerCase()];
        else headers[k.toLowerCase()] = v;
      }
    }
    delete headers.expect; // the body has already been read
    headers.host = target.host;
    if (opts.rewriteResponse) delete headers['accept-encoding']; // bodies must be readable text
    if (upBody.length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(preq.method)) {
      headers['content-length'] = String(upBody.length);
    }

    let upstream: http.IncomingMessage;
    try {
      upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const up = http.request(
          { protocol: target.protocol, hostname: target.hostname, port: target.port, method: preq.method, path: upPath, headers, agent },
          resolve,
        );
        up.once('error', reject);
        up.end(upBody);
      });
    } catch (err) {
      answer(502, { 'content-type': 'text/plain; charset=utf-8' }, `Bad Gateway: ${(err as Error).message}`);
      return;
    }

    const status = upstream.statusCode ?? 502;
    if (dropResponse) {
      await readBody(upstream);
      entry.status = 0;
      req.socket.destroy();
      return;
    }
    const dropUp = hopByHop(upstream.headers);
    const outHeaders: ResponseHeaders = {};
    for (const [k, v] of Object.entries(upstream.headers)) {
      if (v !== undefined && !dropUp.has(k)) outHeaders[k] = v;
    }

    if (opts.rewriteResponse && preq.method !== 'HEAD') {
      const body = opts.rewriteResponse(preq, (await readBody(upstream)).toString('utf8'), outHeaders, status);
      delete outHeaders['content-length'];
      answer(status, outHeaders, body);
      return;
    }
    entry.status = status;
    res.writeHead(status, outHeaders);
    upstream.pipe(res);
    upstream.once('error', () => res.destroy());
  };

  const server = http.createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`proxy error: ${(err as Error).message}`);
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  let connections = 0;
  server.on('connection', () => connections++);

  return {
    url: `http://${host}:${port}`,
    port,
    requests,
    peakInFlight,
    get connections() {
      return connections;
    },
    reset: () => {
      requests.length = 0;
      connections = 0;
      peakInFlight.clear();
    },
    setFault: (fn) => {
      fault = fn;
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
