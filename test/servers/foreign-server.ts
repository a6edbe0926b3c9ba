/**
 * A "foreign" CalDAV host for the trusted-hosts tests: listens on 127.0.0.2 (another loopback
 * address, so another host name than the 127.0.0.1 the connector trusts), records every
 * request it receives, and forwards it to a real CalDAV server — so a connector that did send
 * the credentials here would get working answers and the test would see it succeed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ForeignRequest {
  method: string;
  path: string;
  authorization?: string;
}

export interface ForeignServer {
  /** `http://127.0.0.2:PORT` */
  url: string;
  requests: ForeignRequest[];
  stop(): Promise<void>;
}

export async function startForeignServer(target: string, host = '127.0.0.2'): Promise<ForeignServer> {
  const requests: ForeignRequest[] = [];
  const server = http.createServer(async (req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !['host', 'connection', 'content-length'].includes(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    try {
      const up = await fetch(`${target}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined, redirect: 'manual' });
      const body = Buffer.from(await up.arrayBuffer());
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'text/plain', 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
