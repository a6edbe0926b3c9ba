/**
 * The credentials API as the dashboard sees it: the local stack (dynalite, local cipher,
 * local JWT checks, the real handlers) on a free port, in front of a real Radicale reached
 * through a counting proxy. Its logs go to memory (`output`), not to the test report.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { SignJWT } from 'jose';
import { loadOrCreateKey, localCipher } from '../../shared/cipher/local.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { accountKey, CONNECTION_SK } from '../../shared/store/table.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../local/jwt.js';
import { startLocalStack } from '../../local/stack.js';
import { startProxy, type Proxy } from '../servers/proxy.js';
import { startRadicale, type CalendarSpec, type RadicaleServer } from '../servers/radicale.js';
import { tableClient } from './dynamo.js';
import { memoryOutput } from './log.js';

export const ROUTE = '/integrations/apple-calendar';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body (undefined when empty). */
  body: any;
}

export interface CallOptions {
  /** The JWT `sub` to call as (a valid token is made for it). */
  as?: string;
  /** A raw Authorization header instead (or null for none). */
  authorization?: string | null;
  /** A JSON value (stringified), or a raw string / bytes body. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Appended to the route (query string or extra path). */
  suffix?: string;
}

export async function startApiStack(opts: { users: Record<string, string>; calendars?: Record<string, CalendarSpec[]>; caldavTimeoutMs?: number; busyRevalidateSeconds?: number }) {
  const radicale: RadicaleServer = await startRadicale({ users: opts.users, calendars: opts.calendars });
  const caldav: Proxy = await startProxy({ target: radicale.url });
  const dataDir = await mkdtemp(join(tmpdir(), 'api-stack-'));
  const output = memoryOutput();
  const stack = await startLocalStack({
    port: 0,
    persist: false,
    poll: false,
    dataDir,
    caldavServerUrl: caldav.url,
    caldavTimeoutMs: opts.caldavTimeoutMs ?? 5_000,
    busyRevalidateSeconds: opts.busyRevalidateSeconds,
    logStream: output.stream,
    metrics: output.metrics,
  });
  const table = tableClient(stack.dynamoEndpoint, stack.tableName);
  const cipher = localCipher(loadOrCreateKey(join(dataDir, 'credentials-key')));
  const jwtKey = Buffer.from((await readFile(join(dataDir, 'jwt-signing-key'), 'utf8')).trim(), 'base64');
  const tokens = new Map<string, string>();

  async function call(method: 'GET' | 'POST' | 'DELETE' | string, o: CallOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.authorization !== undefined) {
      if (o.authorization !== null) headers.authorization = o.authorization;
    } else if (o.as !== undefined) {
      let token = tokens.get(o.as);
      if (!token) tokens.set(o.as, (token = await stack.token(o.as)));
      headers.authorization = `Bearer ${token}`;
    }
    let body: string | Uint8Array | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === 'string' || o.body instanceof Uint8Array ? o.body : JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${stack.url}${ROUTE}${o.suffix ?? ''}`, { method, headers, body: body as BodyInit | undefined });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  }

  return {
    stack,
    /** Everything the handlers logged (JSON lines), for "no secret in any log" checks. */
    output,
    radicale,
    /** Counts and can fail requests to the CalDAV server (CALDAV_SERVER_URL points at it). */
    caldav,
    table,
    cipher,
    connections: new ConnectionStore(table),
    call,
    connectBody: (appleId: string, appSpecificPassword: string) => ({ appleId, appSpecificPassword }),
    /** A token signed with the stack's key, with the given claims and times. */
    async signToken(
      claims: { sub?: string; iss?: string; aud?: string; exp?: number; iat?: number; nbf?: number; extra?: Record<string, unknown> },
      key: Uint8Array = jwtKey,
    ) {
      const jwt = new SignJWT({ ...claims.extra, ...(claims.sub === undefined ? {} : { sub: claims.sub }) })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(claims.iss ?? LOCAL_ISSUER)
        .setAudience(claims.aud ?? LOCAL_AUDIENCE)
        .setIssuedAt(claims.iat ?? Math.floor(Date.now() / 1000));
      if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
      if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
      return jwt.sign(key);
    },
    /** The raw connection item in DynamoDB (undefined when absent). */
    async connectionItem(accountId: string): Promise<Record<string, any> | undefined> {
      const out = await table.doc.send(new GetCommand({ TableName: table.name, Key: { pk: accountKey(accountId), sk: CONNECTION_SK }, ConsistentRead: true }));
      return out.Item;
    },
    /** Every item in the table. */
    async scan(): Promise<Record<string, any>[]> {
      const items: Record<string, any>[] = [];
      let start: Record<string, any> | undefined;
      do {
        const page = await table.doc.send(new ScanCommand({ TableName: table.name, ExclusiveStartKey: start, ConsistentRead: true }));
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      return items;
    },
    async stop() {
      table.doc.destroy();
      await stack.stop();
      await caldav.stop();
      await radicale.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export type ApiStack = Awaited<ReturnType<typeof startApiStack>>;
