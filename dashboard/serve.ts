/**
 * Serves the dashboard page from the local stack's HTTP API (its `fallback` option).
 *
 * The TypeScript is bundled once with esbuild's JS API (`write: false`, kept in memory):
 * the build starts when the fallback is created, so `npm start` needs no build step.
 * Every page answer carries a strict CSP (`default-src 'self'`, no inline script or style).
 *
 * `localToken`, when given, adds `GET /local/token?user=<id>`: a token for that account,
 * like `npm run token`. Only the local stack passes it (it holds the local signing key);
 * nothing in functions/ or the cloud stack serves this.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface DashboardOptions {
  /** Signs a token for an account id (local stack only). */
  localToken?: (userId: string) => Promise<string>;
}

interface Asset {
  type: string;
  body: Buffer;
}

export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  'cache-control': 'no-store',
};

const file = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** Bundles the page's script and reads its static files: path → asset. */
export async function buildDashboard(): Promise<Map<string, Asset>> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [file('./app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['chrome115', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    outfile: 'app.js',
  });
  const script = result.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!script) throw new Error('dashboard: esbuild produced no script');
  const [html, css, icon] = await Promise.all([readFile(file('./index.html')), readFile(file('./styles.css')), readFile(file('./calendar.svg'))]);
  const page = { type: 'text/html; charset=utf-8', body: html };
  return new Map<string, Asset>([
    ['/', page],
    ['/index.html', page],
    ['/app.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(script.contents) }],
    ['/app.css', { type: 'text/css; charset=utf-8', body: css }],
    ['/calendar.svg', { type: 'image/svg+xml', body: icon }],
  ]);
}

/** A fallback for `startHttpApi`: the page's files (and the local token route if enabled); false otherwise. */
export function dashboardFallback(opts: DashboardOptions = {}) {
  const assets = buildDashboard();
  assets.catch(() => {}); // a failed build is reported by the first request for the page
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/local/token' && opts.localToken) {
      await serveLocalToken(opts.localToken, req, res, url);
      return true;
    }
    const asset = (await assets).get(url.pathname);
    if (!asset) return false;
    res.writeHead(200, { ...PAGE_SECURITY_HEADERS, 'content-type': asset.type, 'content-length': String(asset.body.length) });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const USER_ID = /^[A-Za-z0-9._@+:-]{1,128}$/;

/**
 * `GET /local/token?user=<id>` → `{"token": "..."}`. Answers only requests addressed to a
 * loopback host name (no DNS rebinding) and not sent by another site.
 */
async function serveLocalToken(sign: (userId: string) => Promise<string>, req: IncomingMessage, res: ServerResponse, url: URL) {
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { ...PAGE_SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
  };
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  const site = req.headers['sec-fetch-site'];
  if (!LOOPBACK.has(host) || (site !== undefined && site !== 'same-origin' && site !== 'none')) {
    return json(403, { error: { code: 'forbidden', message: 'The local token route answers only this machine’s own pages.' } });
  }
  const userId = url.searchParams.get('user') ?? '';
  if (!USER_ID.test(userId)) {
    return json(400, { error: { code: 'invalid_request', message: 'The request is not valid.', fields: { user: 'must be 1 to 128 letters, digits or ._@+:-' } } });
  }
  return json(200, { token: await sign(userId), userId });
}
