/**
 * Connect answers within its Lambda's time (issue #10, point 4), against a real Radicale
 * behind a proxy that makes every request slow: discovery's budget comes from the remaining
 * time, so a slow server is `calendar_unavailable` before the function would be stopped and
 * never counts as a rejected login; once the connection is saved, connect answers its 2xx
 * whatever runs after it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localAppleIdMac } from '../../shared/connection/apple-id-mac.js';
import { localCipher } from '../../shared/cipher/local.js';
import { connectedDetails } from '../../shared/connection/details.js';
import { connect, SAVE_RESERVE_MS, type ConnectionDeps } from '../../shared/connection/connect.js';
import { ANSWER_MARGIN_MS, deadlineFrom } from '../../shared/connection/deadline.js';
import { DomainError } from '../../shared/errors.js';
import { AttemptStore, CONNECT_LIMIT } from '../../shared/store/attempts.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { appleIdKey } from '../../shared/store/table.js';
import { startTable } from '../harness/dynamo.js';
import { recordingLog } from '../harness/log.js';
import { startProxy, type Proxy } from '../servers/proxy.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';

const ANN = 'ann@icloud.com';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
/** What the Lambda reports as left when connect starts (the function has 28 s; here a short one). */
const REMAINING_MS = 6_000;

let radicale: RadicaleServer;
let proxy: Proxy;
let db: Awaited<ReturnType<typeof startTable>>;

beforeAll(async () => {
  [radicale, db] = await Promise.all([startRadicale({ users: { [ANN]: PASSWORD } }), startTable()]);
  proxy = await startProxy({ target: radicale.url });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([radicale?.stop(), db?.stop()]);
});

beforeEach(() => {
  proxy.setFault(undefined);
  proxy.reset();
});

function deps(extra: Partial<ConnectionDeps> = {}): ConnectionDeps {
  return {
    connections: new ConnectionStore(db.table),
    limits: { accounts: new AttemptStore(db.table), appleIds: new AttemptStore(db.table, CONNECT_LIMIT, Date.now, appleIdKey), mac: localAppleIdMac(randomBytes(32)) },
    cipher: localCipher(randomBytes(32)),
    // Each request may take 10 s (the configured per-request timeout) — more than the Lambda has left.
    caldav: { serverUrl: proxy.url, timeoutMs: 10_000, allowedHosts: ['127.0.0.1'] },
    log: recordingLog(),
    details: async (connection) => connectedDetails(connection),
    ...extra,
  } as ConnectionDeps;
}

async function timed<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = Date.now();
  try {
    const value = await p;
    return { ms: Date.now() - t0, value };
  } catch (error) {
    return { ms: Date.now() - t0, error };
  }
}

describe('connect within the time its Lambda has', () => {
  it('a server slower than the remaining time: calendar_unavailable before the deadline, nothing stored', async () => {
    proxy.setFault(() => ({ delayMs: 8_000 }));
    const d = deps();
    const t0 = Date.now();
    const err = await connect(d, 'slow-1', { appleId: ANN, appSpecificPassword: PASSWORD }, { deadline: deadlineFrom(REMAINING_MS) }).catch((e: unknown) => e);
    const ms = Date.now() - t0;
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('calendar_unavailable');
    // Discovery stopped at remaining - answer margin - save reserve; the answer came well inside the remaining time.
    expect(ms).toBeGreaterThanOrEqual(REMAINING_MS - ANSWER_MARGIN_MS - SAVE_RESERVE_MS - 200);
    expect(ms).toBeLessThan(REMAINING_MS - ANSWER_MARGIN_MS);
    expect(await d.connections.get('slow-1')).toBeUndefined();
    console.log(`connect with ${REMAINING_MS} ms left and a server taking 8 s per request: answered 502 after ${ms} ms`);
  });

  it('six slow attempts in a row do not lock the person out: the seventh (server fast again) connects', async () => {
    const d = deps();
    proxy.setFault(() => ({ delayMs: 3_000 }));
    for (let i = 0; i < 6; i++) {
      const err = await connect(d, 'slow-2', { appleId: ANN, appSpecificPassword: PASSWORD }, { deadline: deadlineFrom(3_000) }).catch((e: unknown) => e);
      expect((err as DomainError).code).toBe('calendar_unavailable');
    }
    proxy.setFault(undefined);
    const res = await connect(d, 'slow-2', { appleId: ANN, appSpecificPassword: PASSWORD }, { deadline: deadlineFrom(REMAINING_MS) });
    expect(res.created).toBe(true);
  });

  it('once saved, connect answers its 2xx even if what runs after it never finishes', async () => {
    const d = deps({ afterConnect: () => new Promise(() => undefined) });
    const { ms, value, error } = await timed(connect(d, 'after-1', { appleId: ANN, appSpecificPassword: PASSWORD }, { deadline: deadlineFrom(REMAINING_MS) }));
    expect(error).toBeUndefined();
    expect(value?.created).toBe(true);
    expect(value?.details).toMatchObject({ status: 'active', appleId: ANN });
    expect(ms).toBeGreaterThan(1_000); // it did wait for the work after the save, as long as there was time
    expect(ms).toBeLessThan(REMAINING_MS - ANSWER_MARGIN_MS + 100);
    expect(await d.connections.get('after-1')).toBeDefined();
  });

  it('once saved, a failure clearing the attempts does not change the answer', async () => {
    const base = deps();
    const failingClear = Object.create(base.limits.accounts) as AttemptStore;
    failingClear.clear = async () => {
      throw new Error('DynamoDB unavailable');
    };
    const d = deps({ limits: { ...base.limits, accounts: failingClear } });
    const res = await connect(d, 'after-2', { appleId: ANN, appSpecificPassword: PASSWORD }, { deadline: deadlineFrom(REMAINING_MS) });
    expect(res.created).toBe(true);
  });
});
