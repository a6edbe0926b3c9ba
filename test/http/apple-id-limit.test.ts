/**
 * The rejected-login limit protects the Apple ID, not only our accounts (contract §1 429):
 * through the real HTTP API and a real Radicale (behind the counting proxy), six accounts
 * trying a wrong password for the same Apple ID make at most five rejected logins reach the
 * CalDAV server in 15 minutes; after that everyone gets 429 `too_many_attempts`, before any
 * request. The limit is kept under a keyed hash, never the address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiStack, type ApiStack } from '../harness/api-stack.js';

const VICTIM = 'victim@icloud.com';
const PASSWORD = 'qmzr-vhkt-plwc-ndxa';
const WRONG = 'kzxw-qpvm-lrty-hbns';
const OTHER = 'other@example.com';
const OTHER_PASSWORD = 'jfue-ybgo-wsrq-tlic';

let api: ApiStack;
let output: ApiStack['output'];

beforeAll(async () => {
  api = await startApiStack({ users: { [VICTIM]: PASSWORD, [OTHER]: OTHER_PASSWORD } });
  output = api.output;
});

const measured: string[] = [];

afterAll(async () => {
  for (const line of measured) console.log(line);
  await api?.stop();
});

const connect = (as: string, appleId: string, appSpecificPassword: string) => api.call('POST', { as, body: { appleId, appSpecificPassword } });
const rejectedLogins = () => api.caldav.requests.filter((r) => r.status === 401).length;

describe('rejected logins per Apple ID, across accounts', () => {
  const accounts = ['att-1', 'att-2', 'att-3', 'att-4', 'att-5', 'att-6'];

  it('six accounts, a wrong password each (some spelling the Apple ID differently): five 422, then 429, five rejected logins at the server', async () => {
    api.caldav.reset();
    const spellings = [VICTIM, ` ${VICTIM.toUpperCase()} `, 'Victim@iCloud.com', VICTIM, VICTIM, VICTIM];
    const statuses: number[] = [];
    for (const [i, account] of accounts.entries()) statuses.push((await connect(account, spellings[i]!, WRONG)).status);
    expect(statuses).toEqual([422, 422, 422, 422, 422, 429]);
    expect(rejectedLogins()).toBe(5);
    measured.push(`apple-id limit: ${accounts.length} accounts, ${rejectedLogins()} rejected logins reached the server`);
  });

  it('then everyone gets 429 too_many_attempts with Retry-After — also with the right password, also new accounts — and no request is made', async () => {
    api.caldav.reset();
    for (const account of [...accounts, 'att-7', 'att-8']) {
      for (const password of [WRONG, PASSWORD]) {
        const res = await connect(account, VICTIM, password);
        expect(res.status, account).toBe(429);
        expect(res.body.error.code).toBe('too_many_attempts');
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
      }
    }
    expect(api.caldav.requests).toEqual([]);
  });

  it('concurrent attempts from many accounts cannot overrun it', async () => {
    api.caldav.reset();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => connect(`burst-${i}`, OTHER, WRONG)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 422).length).toBeLessThanOrEqual(5);
    expect(statuses.every((s) => s === 422 || s === 429)).toBe(true);
    expect(rejectedLogins()).toBeLessThanOrEqual(5);
    measured.push(`apple-id limit: 12 concurrent accounts, ${rejectedLogins()} rejected logins reached the server`);
  });

  it('an account limited on one Apple ID can still connect another', async () => {
    // att-1 has one rejected login of its own (its account limit is not reached).
    const res = await connect('att-1', 'fresh@example.com', OTHER_PASSWORD);
    expect(res.status).not.toBe(429);
  });

  it('the table keeps the limit under a keyed hash, never the address', async () => {
    const items = await api.scan();
    const limits = items.filter((i) => String(i.pk).startsWith('APPLE_ID#'));
    expect(limits.length).toBeGreaterThanOrEqual(2);
    for (const item of limits) expect(item.pk).toMatch(/^APPLE_ID#[A-Za-z0-9_-]{43}$/);
    const text = JSON.stringify(limits).toLowerCase();
    for (const address of [VICTIM, OTHER, 'victim', 'other@']) expect(text).not.toContain(address);
  });
});
