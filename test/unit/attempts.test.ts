import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptStore, CONNECT_LIMIT } from '../../shared/store/attempts.js';
import { accountKey, ATTEMPTS_SK, type Table } from '../../shared/store/table.js';
import { startTable } from '../harness/dynamo.js';

let db: Awaited<ReturnType<typeof startTable>>;
let table: Table;
beforeAll(async () => {
  db = await startTable();
  table = db.table;
});
afterAll(async () => {
  await db?.stop();
});

const MIN = 60_000;
let n = 0;
/** A fresh account per test: the limit is per account. */
const account = () => `acct-${++n}`;

/** A clock the test moves by hand. */
function clock(start = Date.parse('2026-11-24T10:00:00.000Z')) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms), at: () => t };
}

/** Reserves and keeps the attempt (what connect does when the login was rejected). */
async function reject(store: AttemptStore, accountId: string) {
  const r = await store.reserve(accountId);
  expect(r.ok).toBe(true);
  return r;
}

describe('AttemptStore (dynalite)', () => {
  it('the contract limit is 5 rejected logins in 15 minutes', () => {
    expect(CONNECT_LIMIT).toEqual({ max: 5, windowMs: 15 * MIN });
  });

  it('allows 5 rejected logins, then refuses with the seconds until the oldest leaves the window', async () => {
    const c = clock();
    const store = new AttemptStore(table, CONNECT_LIMIT, c.now);
    const id = account();
    for (let i = 0; i < 5; i++) {
      await reject(store, id);
      c.advance(MIN);
    }
    // now = start + 5 min; the oldest (start) leaves at start + 15 min: 10 minutes from now.
    expect(await store.reserve(id)).toEqual({ ok: false, retryAfterSeconds: 10 * 60 });
    c.advance(30_500);
    expect(await store.reserve(id)).toEqual({ ok: false, retryAfterSeconds: 9 * 60 + 30 }); // 569.5 s, rounded up
  });

  it('slides: once the oldest rejected login is 15 minutes old, one more attempt is allowed, not more', async () => {
    const c = clock();
    const store = new AttemptStore(table, CONNECT_LIMIT, c.now);
    const id = account();
    const start = c.at();
    for (let i = 0; i < 5; i++) {
      await reject(store, id);
      c.advance(MIN);
    }
    c.advance(start + 15 * MIN - c.at() - 1); // 1 ms before the first leaves
    expect((await store.reserve(id)).ok).toBe(false);
    c.advance(1); // exactly 15 minutes after the first: it is out
    expect((await store.reserve(id)).ok).toBe(true);
    expect(await store.reserve(id)).toEqual({ ok: false, retryAfterSeconds: 60 }); // the second leaves a minute later
    c.advance(MIN);
    expect((await store.reserve(id)).ok).toBe(true);
  });

  it('does not hold the lock for a full window after the last attempt: only until the oldest expires', async () => {
    const c = clock();
    const store = new AttemptStore(table, CONNECT_LIMIT, c.now);
    const id = account();
    for (let i = 0; i < 5; i++) await reject(store, id); // all at once
    expect(await store.reserve(id)).toEqual({ ok: false, retryAfterSeconds: 15 * 60 });
    c.advance(15 * MIN);
    for (let i = 0; i < 5; i++) expect((await store.reserve(id)).ok).toBe(true);
  });

  it('release() forgets an attempt that was not rejected (it worked, or the server was down)', async () => {
    const c = clock();
    const store = new AttemptStore(table, CONNECT_LIMIT, c.now);
    const id = account();
    for (let i = 0; i < 20; i++) {
      const r = await store.reserve(id);
      if (!r.ok) throw new Error(`attempt ${i + 1} refused although all earlier ones were released`);
      await store.release(id, r.id);
    }
    // Only the one it names: four kept + one released + one more kept = five.
    const kept = [];
    for (let i = 0; i < 4; i++) kept.push(await reject(store, id));
    const released = await reject(store, id);
    if (!released.ok) throw new Error('unreachable');
    await store.release(id, released.id);
    await reject(store, id);
    expect((await store.reserve(id)).ok).toBe(false);
  });

  it('counts an attempt under way: five logins in flight block a sixth', async () => {
    const store = new AttemptStore(table, CONNECT_LIMIT, clock().now);
    const id = account();
    const inFlight = [];
    for (let i = 0; i < 5; i++) inFlight.push(await reject(store, id));
    expect((await store.reserve(id)).ok).toBe(false);
    // The first finishes without a rejection: room for one more.
    const first = inFlight[0]!;
    if (!first.ok) throw new Error('unreachable');
    await store.release(id, first.id);
    expect((await store.reserve(id)).ok).toBe(true);
  });

  it('clear() (a successful connect) forgets earlier rejected logins', async () => {
    const store = new AttemptStore(table, CONNECT_LIMIT, clock().now);
    const id = account();
    for (let i = 0; i < 5; i++) await reject(store, id);
    expect((await store.reserve(id)).ok).toBe(false);
    await store.clear(id);
    expect((await store.reserve(id)).ok).toBe(true);
  });

  it('is per account: one account at the limit does not affect another', async () => {
    const store = new AttemptStore(table, CONNECT_LIMIT, clock().now);
    const a = account();
    const b = account();
    for (let i = 0; i < 5; i++) await reject(store, a);
    expect((await store.reserve(a)).ok).toBe(false);
    expect((await store.reserve(b)).ok).toBe(true);
  });

  it('concurrent reserves never exceed the limit', async () => {
    const store = new AttemptStore(table, CONNECT_LIMIT, clock().now);
    const id = account();
    const results = await Promise.all(Array.from({ length: 12 }, () => store.reserve(id)));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok)).toHaveLength(7);
    // The stored record holds exactly the five granted attempts.
    const item = (await table.doc.send(new GetCommand({ TableName: table.name, Key: { pk: accountKey(id), sk: ATTEMPTS_SK } }))).Item;
    const granted = results.flatMap((r) => (r.ok ? [r.id] : []));
    expect((item?.attempts as string[]).map((a) => a.split(':')[1]).sort()).toEqual(granted.sort());
  });

  it('concurrent reserves from separate stores (separate Lambda containers) never exceed the limit', async () => {
    const c = clock();
    const id = account();
    const stores = Array.from({ length: 8 }, () => new AttemptStore(table, CONNECT_LIMIT, c.now));
    const results = await Promise.all(stores.map((s) => s.reserve(id)));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
  });

  it('stores an expiry (TTL) so an idle record disappears after the window', async () => {
    const c = clock();
    const store = new AttemptStore(table, CONNECT_LIMIT, c.now);
    const id = account();
    await reject(store, id);
    const item = (await table.doc.send(new GetCommand({ TableName: table.name, Key: { pk: accountKey(id), sk: ATTEMPTS_SK } }))).Item;
    expect(item?.expiresAt).toBe(Math.ceil((c.at() + 15 * MIN) / 1000));
  });
});
