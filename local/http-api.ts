import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Log } from '../shared/logger.js';
import { consoleLog } from './console-log.js';
import type { LocalJwt } from './jwt.js';

type HttpHandler = (event: APIGatewayProxyEventV2WithJWTAuthorizer, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface HttpApiOptions {
  port: number;
  host?: string;
  jwt: LocalJwt;
  /** `"POST /integrations/apple-calendar"` → handler, like the HTTP API's route keys. */
  routes: Record<string, HttpHandler>;
  /** Requests no route matched (the dashboard's static files). Return false for a 404. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean;
  log?: Pick<Log, 'error'>;
}


/** API Gateway's payload limit. */
const MAX_PAYLOAD = 10 * 1024 * 1024;

/**
 * The HTTP API on one machine: checks the bearer token like the JWT authorizer (401 with
 * API Gateway's own body, before any handler runs), turns the request into an API Gateway
 * v2 event and calls the same handler the Lambda runs.
 */
export async function startHttpApi(opts: HttpApiOptions) {
  const server = createServer((req, res) => {
    serve(opts, req, res).catch((err) => {
      (opts.log ?? consoleLog).error('local http api failed', { error: (err as Error).message });
      if (!res.headersSent) send(res, 500, { message: 'Internal Server Error' });
      else res.end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(opts: HttpApiOptions, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let routeKey = `${req.method} ${url.pathname.replace(/\/+$/, '') || '/'}`;
  let handler = opts.routes[routeKey];
  let pathParameters: Record<string, string> | undefined;
  if (!handler) ({ routeKey, handler, pathParameters } = matchTemplate(opts.routes, routeKey));
  if (!handler) {
    if (opts.fallback && (await opts.fallback(req, res))) return;
    return send(res, 404, { message: 'Not Found' });
  }
  const auth = req.headers.authorization ?? '';
  const claims = auth.startsWith('Bearer ') ? await opts.jwt.verify(auth.slice(7).trim()) : undefined;
  if (!claims) {
    req.resume();
    return send(res, 401, { message: 'Unauthorized' });
  }
  const body = await readBody(req);
  if (body === undefined) return send(res, 413, { message: 'Request Entity Too Large' });

  const now = new Date();
  const requestId = randomUUID();
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
  const event: APIGatewayProxyEventV2WithJWTAuthorizer = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: req.headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: req.headers['user-agent'] ?? '' },
      requestId,
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: { claims: Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, v as string | number | boolean | string[]])), scopes: [] },
      },
    },
    ...(body.length ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
  };
  const result = await handler(event, lambdaContext(requestId));
  res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
  res.end(result.body ?? '');
}

/** Route keys with `{name}` segments (e.g. `GET /internal/accounts/{accountId}/...`), as API Gateway matches them. */
function matchTemplate(routes: Record<string, HttpHandler>, key: string): { routeKey: string; handler?: HttpHandler; pathParameters?: Record<string, string> } {
  for (const [template, handler] of Object.entries(routes)) {
    if (!template.includes('{')) continue;
    const names: string[] = [];
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    const m = new RegExp(`^${pattern}$`).exec(key);
    if (!m) continue;
    const params: Record<string, string> = {};
    names.forEach((name, i) => {
      try {
        params[name] = decodeURIComponent(m[i + 1]!);
      } catch {
        params[name] = m[i + 1]!;
      }
    });
    return { routeKey: template, handler, pathParameters: params };
  }
  return { routeKey: key };
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function lambdaContext(requestId: string, functionName = 'local', timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
