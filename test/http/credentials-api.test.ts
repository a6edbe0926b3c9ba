/**
 * POST / GET / DELETE /integrations/apple-calendar through the real handlers (API Gateway v2
 * events from the local HTTP API with its JWT checks), DynamoDB (dynalite) and a real
 * Radicale behind a counting proxy: every row of the contract's connect table, the three
 * details states, disconnect, and 401 before any handler.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accountKey } from '../../shared/store/table.js';
import { startApiStack, type ApiStack } from '../harness/api-stack.js';

const PASSWORD = 'abcd-efgh-ijkl-mnop';
const WRONG = 'zzzz-yyyy-xxxx-wwww';
const ANN = 'ann@icloud.com';
const BOB = 'bob@example.com'; // Apple IDs are not all @icloud.com
const BOB_PASSWORD = 'bobb-bobb-bobb-bobb';
const ROT = 'rot@icloud.com'; // its password is rotated by one test
const TODO_ONLY = 'todo@icloud.com';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let api: ApiStack;
let output: ApiStack['output'];
let n = 0;
const account = (label: string) => `${label}-${++n}`;
const homeUrl = (appleId: string) => `${api.caldav.url}/${encodeURIComponent(appleId)}/home/`;

beforeAll(async () => {
  api = await startApiStack({
    users: { [ANN]: PASSWORD, [BOB]: BOB_PASSWORD, [ROT]: 'rota-rota-rota-rota', [TODO_ONLY]: PASSWORD },
    calendars: {
      [ANN]: [
        { slug: 'home', displayName: 'Home' },
        { slug: 'reminders', displayName: 'Reminders', components: ['VTODO'] },
      ],
      [TODO_ONLY]: [{ slug: 'reminders', displayName: 'Reminders', components: ['VTODO'] }],
    },
  });
  output = api.output; // the handlers' JSON logs, kept out of the test report
});

afterAll(async () => {
  await api?.stop();
});

beforeEach(() => {
  api.caldav.setFault(undefined);
});

const connectAs = (as: string, appleId: string, appSpecificPassword: string) => api.call('POST', { as, body: { appleId, appSpecificPassword } });

function expectError(res: { status: number; body: any; headers: Headers }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(0);
  expect(Object.keys(res.body)).toEqual(['error']);
  if (code !== 'invalid_request') expect(res.body.error.fields).toBeUndefined();
}

/** The details of a fresh connection of ANN's Apple ID (Radicale's Home calendar). */
const annActive = () => ({
  status: 'active',
  appleId: ANN,
  calendar: { name: 'Home', url: homeUrl(ANN) },
  connectedAt: expect.stringMatching(ISO),
  pendingChanges: 0,
  failedChanges: 0,
  calendars: [{ name: 'Home', url: homeUrl(ANN), default: true, checkedForConflicts: true, writable: true }],
});

describe('POST /integrations/apple-calendar (connect)', () => {
  it('201 connected: the details object, status active, the default calendar (not the reminders list)', async () => {
    const me = account('new');
    const before = Date.now();
    // Pasted with spaces and in upper case: normalised before it is used (Radicale knows the Apple form only).
    const res = await connectAs(me, ANN, ' ABCD EFGH IJKL MNOP ');
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual(annActive());
    expect(Date.parse(res.body.connectedAt)).toBeGreaterThanOrEqual(before - 1000);

    // Stored, encrypted, normalised.
    const item = await api.connectionItem(me);
    expect(item).toMatchObject({ appleId: ANN, status: 'active', calendarUrl: homeUrl(ANN), calendarName: 'Home' });
    expect(await api.cipher.decrypt(item!.ciphertext, me)).toBe(PASSWORD);

    // Details agree.
    const details = await api.call('GET', { as: me });
    expect(details.status).toBe(200);
    expect(details.body).toEqual(res.body);
  });

  it('200 same Apple ID with a new app-specific password: replaces the old one, status back to active', async () => {
    const me = account('rotate');
    const first = 'rota-rota-rota-rota';
    const newPassword = 'newp-assw-ordn-owxx';
    const created = await connectAs(me, ROT, first);
    expect(created.status).toBe(201);

    // A sync saw the old password rejected (it was revoked at appleid.apple.com)…
    const lastSync = { at: '2026-11-24T10:05:00.000Z', outcome: 'failed' as const, error: 'credentials_rejected' };
    await api.connections.recordSync(me, lastSync, 'error');
    expect((await api.call('GET', { as: me })).body.status).toBe('error');
    // …and the person made a new one.
    await api.radicale.setPassword(ROT, newPassword);

    // The old password no longer works…
    expectError(await connectAs(me, ROT, first), 422, 'invalid_credentials');
    expect((await api.call('GET', { as: me })).body.status).toBe('error');
    // …the new one does, pasted in upper case: 200, the same connection, active again.
    const res = await connectAs(me, ROT, newPassword.toUpperCase());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'active', appleId: ROT, calendar: { name: 'Home', url: homeUrl(ROT) } });
    expect(res.body.connectedAt).toBe(created.body.connectedAt);
    expect(res.body.lastSync).toEqual(lastSync);

    const item = await api.connectionItem(me);
    expect(item?.status).toBe('active');
    expect(await api.cipher.decrypt(item!.ciphertext, me)).toBe(newPassword);
    expect((await api.call('GET', { as: me })).body).toEqual(res.body);
  });

  it('200 also when the same Apple ID reconnects with the password it already had', async () => {
    const me = account('again');
    expect((await connectAs(me, ANN, PASSWORD)).status).toBe(201);
    const again = await connectAs(me, ANN, PASSWORD);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('active');
  });

  describe('400 invalid_request with fields, and no CalDAV request', () => {
    it.each([
      ['malformed JSON', '{"appleId": "ann@icloud.com",', { body: 'must be a JSON object' }],
      ['no body', undefined, { body: 'must be a JSON object' }],
      ['a JSON array', JSON.stringify([{ appleId: ANN, appSpecificPassword: PASSWORD }]), { body: 'must be a JSON object' }],
      ['missing fields', '{}', { appleId: 'is required', appSpecificPassword: 'is required' }],
      ['wrong types', JSON.stringify({ appleId: 42, appSpecificPassword: ['abcd'] }), { appleId: 'must be a string', appSpecificPassword: 'must be a string' }],
      ['not an e-mail address', JSON.stringify({ appleId: 'ann', appSpecificPassword: PASSWORD }), { appleId: 'must be an e-mail address' }],
      [
        'a password that is not 16 letters',
        JSON.stringify({ appleId: ANN, appSpecificPassword: 'abcd-efgh-ijkl' }),
        { appSpecificPassword: 'must be 16 letters, like xxxx-xxxx-xxxx-xxxx' },
      ],
      ['an oversized body', JSON.stringify({ appleId: ANN, appSpecificPassword: PASSWORD, pad: 'x'.repeat(5000) }), { body: 'must be at most 4096 bytes' }],
    ])('%s', async (_what, body, fields) => {
      const me = account('bad');
      api.caldav.reset();
      const res = await api.call('POST', { as: me, body });
      expectError(res, 400, 'invalid_request');
      expect(res.body.error.fields).toEqual(fields);
      expect(api.caldav.requests).toHaveLength(0);
      expect((await api.call('GET', { as: me })).body).toEqual({ status: 'not_connected' });
    });
  });

  it('422 invalid_credentials when the CalDAV server rejects the password; nothing stored', async () => {
    const me = account('wrong');
    api.caldav.reset();
    const res = await connectAs(me, ANN, WRONG);
    expectError(res, 422, 'invalid_credentials');
    expect(res.body.error.message).toMatch(/app-specific password/);
    expect(api.caldav.requests.map((r) => r.status)).toContain(401);
    expect(await api.connectionItem(me)).toBeUndefined();
    expect((await api.call('GET', { as: me })).body).toEqual({ status: 'not_connected' });
  });

  it('422 invalid_credentials for an Apple ID the server does not know', async () => {
    expectError(await connectAs(account('unknown'), 'nobody@icloud.com', PASSWORD), 422, 'invalid_credentials');
  });

  it('422 no_calendar when the account has no calendar that can hold events; nothing stored', async () => {
    const me = account('todo');
    const res = await connectAs(me, TODO_ONLY, PASSWORD);
    expectError(res, 422, 'no_calendar');
    expect(await api.connectionItem(me)).toBeUndefined();
  });

  it('409 already_connected for a second Apple ID; the first stays as it was', async () => {
    const me = account('two-ids');
    expect((await connectAs(me, ANN, PASSWORD)).status).toBe(201);
    const before = await api.connectionItem(me);
    const res = await connectAs(me, BOB, BOB_PASSWORD);
    expectError(res, 409, 'already_connected');
    expect(await api.connectionItem(me)).toEqual(before);
    expect((await api.call('GET', { as: me })).body.appleId).toBe(ANN);
    // After a disconnect the other Apple ID can connect.
    expect((await api.call('DELETE', { as: me })).status).toBe(204);
    const bob = await connectAs(me, BOB, BOB_PASSWORD);
    expect(bob.status).toBe(201);
    expect(bob.body.appleId).toBe(BOB);
  });

  it('429 too_many_attempts after 5 rejected logins of an account, with Retry-After; the 6th never reaches the CalDAV server', async () => {
    const me = account('limited');
    // Five different Apple IDs: this is the account's own limit (the per-Apple-ID limit across
    // accounts is test/http/apple-id-limit.test.ts).
    for (let i = 0; i < 5; i++) expectError(await connectAs(me, `guess-${i}@icloud.com`, WRONG), 422, 'invalid_credentials');
    api.caldav.reset();
    // Even with the right password now: refused before any CalDAV request.
    const res = await connectAs(me, ANN, PASSWORD);
    expectError(res, 429, 'too_many_attempts');
    expect(api.caldav.requests).toHaveLength(0);
    const retryAfter = res.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThan(14 * 60);
    expect(Number(retryAfter)).toBeLessThanOrEqual(15 * 60);
    expect(await api.connectionItem(me)).toBeUndefined();
    // Still refused on the next try; another account is not affected.
    expectError(await connectAs(me, ANN, PASSWORD), 429, 'too_many_attempts');
    expect(api.caldav.requests).toHaveLength(0);
    expect((await connectAs(account('unaffected'), ANN, PASSWORD)).status).toBe(201);
  });

  it('an unreachable server does not count as a rejected login', async () => {
    const me = account('flaky');
    api.caldav.setFault(() => ({ status: 503 }));
    for (let i = 0; i < 6; i++) expectError(await connectAs(me, ANN, PASSWORD), 502, 'calendar_unavailable');
    api.caldav.setFault(undefined);
    expect((await connectAs(me, ANN, PASSWORD)).status).toBe(201);
  });

  it.each([
    ['503 with Retry-After', () => ({ status: 503, headers: { 'retry-after': '120' } })],
    ['500', () => ({ status: 500 })],
    ['a dropped connection', () => ({ destroy: true })],
  ])('502 calendar_unavailable when the CalDAV server fails (%s); nothing stored', async (_what, fault) => {
    const me = account('down');
    api.caldav.setFault(fault);
    const res = await connectAs(me, ANN, PASSWORD);
    expectError(res, 502, 'calendar_unavailable');
    expect(await api.connectionItem(me)).toBeUndefined();
  });
});

describe('GET /integrations/apple-calendar (details)', () => {
  it('not_connected carries no other field', async () => {
    const res = await api.call('GET', { as: account('nobody') });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toStrictEqual({ status: 'not_connected' });
    expect(JSON.parse(res.text)).toStrictEqual({ status: 'not_connected' });
  });

  it('active: Apple ID, calendar, connectedAt; no lastSync before the first sync', async () => {
    const me = account('active');
    await connectAs(me, ANN, PASSWORD);
    const res = await api.call('GET', { as: me });
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(annActive());
  });

  it('active with the latest sync outcome', async () => {
    const me = account('synced');
    await connectAs(me, ANN, PASSWORD);
    await api.connections.recordSync(me, { at: '2026-11-24T10:05:00.000Z', outcome: 'ok' });
    const res = await api.call('GET', { as: me });
    expect(res.body).toMatchObject({ status: 'active', lastSync: { at: '2026-11-24T10:05:00.000Z', outcome: 'ok' } });
    expect(res.body.lastSync).toStrictEqual({ at: '2026-11-24T10:05:00.000Z', outcome: 'ok' });
  });

  it('error: a sync saw the stored credentials rejected', async () => {
    const me = account('revoked');
    await connectAs(me, ANN, PASSWORD);
    await api.connections.recordSync(me, { at: '2026-11-24T10:05:00.000Z', outcome: 'failed', error: 'credentials_rejected' }, 'error');
    const res = await api.call('GET', { as: me });
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({
      status: 'error',
      appleId: ANN,
      calendar: { name: 'Home', url: homeUrl(ANN) },
      connectedAt: expect.stringMatching(ISO),
      lastSync: { at: '2026-11-24T10:05:00.000Z', outcome: 'failed', error: 'credentials_rejected' },
      pendingChanges: 0,
      failedChanges: 0,
      calendars: [{ name: 'Home', url: homeUrl(ANN), default: true, checkedForConflicts: true, writable: true }],
    });
  });

  it('never shows the stored ciphertext or internal fields', async () => {
    const me = account('fields');
    await connectAs(me, ANN, PASSWORD);
    const item = await api.connectionItem(me);
    const res = await api.call('GET', { as: me });
    expect(res.text).not.toContain(item!.ciphertext);
    for (const k of ['ciphertext', 'pk', 'sk', 'accountId', 'principalUrl', 'homeUrl', 'updatedAt', 'appleIdKey']) expect(res.body).not.toHaveProperty(k);
  });
});

describe('DELETE /integrations/apple-calendar (disconnect)', () => {
  it('204 twice; afterwards details say not_connected and the item is gone from the table', async () => {
    const me = account('leaving');
    await connectAs(me, ANN, PASSWORD);
    expect(await api.connectionItem(me)).toBeDefined();

    const first = await api.call('DELETE', { as: me });
    expect(first.status).toBe(204);
    expect(first.text).toBe('');
    expect(await api.connectionItem(me)).toBeUndefined();
    expect((await api.call('GET', { as: me })).body).toStrictEqual({ status: 'not_connected' });

    const second = await api.call('DELETE', { as: me });
    expect(second.status).toBe(204);
    expect(second.text).toBe('');
  });

  it('204 when nothing was ever connected', async () => {
    const res = await api.call('DELETE', { as: account('never') });
    expect(res.status).toBe(204);
  });

  it('drops held booking changes with the credentials', async () => {
    const me = account('held');
    await connectAs(me, ANN, PASSWORD);
    await api.table.doc.send(
      new PutCommand({ TableName: api.table.name, Item: { pk: accountKey(me), sk: 'BOOKING#bk_1', accountId: me, bookingId: 'bk_1', seq: 1, desired: 'event' } }),
    );
    expect((await api.call('DELETE', { as: me })).status).toBe(204);
    expect((await api.scan()).filter((i) => i.pk === accountKey(me) && String(i.sk).startsWith('BOOKING#'))).toEqual([]);
  });
});

describe('401 before any handler', () => {
  const UNAUTHORIZED = { message: 'Unauthorized' };

  it.each([
    ['no Authorization header', () => Promise.resolve(null)],
    ['an empty bearer token', () => Promise.resolve('Bearer ')],
    ['a malformed token', () => Promise.resolve('Bearer not.a.jwt')],
    ['Basic credentials instead of a token', () => Promise.resolve(`Basic ${Buffer.from(`${ANN}:${PASSWORD}`).toString('base64')}`)],
    ['an expired token', async () => `Bearer ${await api.signToken({ sub: 'victim', exp: Math.floor(Date.now() / 1000) - 60, iat: Math.floor(Date.now() / 1000) - 3600 })}`],
    ['a token not yet valid', async () => `Bearer ${await api.signToken({ sub: 'victim', nbf: Math.floor(Date.now() / 1000) + 3600 })}`],
    ['a token for another audience', async () => `Bearer ${await api.signToken({ sub: 'victim', aud: 'someone-else' })}`],
    ['a token from another issuer', async () => `Bearer ${await api.signToken({ sub: 'victim', iss: 'https://evil.example.com' })}`],
    ['a token signed with another key', async () => `Bearer ${await api.signToken({ sub: 'victim' }, new Uint8Array(32).fill(7))}`],
    ['a token without sub', async () => `Bearer ${await api.signToken({})}`],
    ['an unsigned token (alg none)', async () => {
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `Bearer ${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: 'victim', iss: 'http://127.0.0.1/local-auth', aud: 'apple-calendar-connector' })}.`;
    }],
  ])('%s → 401 {"message":"Unauthorized"} on every route; nothing happens', async (_what, header) => {
    const victim = 'victim';
    if (!(await api.connectionItem(victim))) expect((await connectAs(victim, ANN, PASSWORD)).status).toBe(201);
    const item = await api.connectionItem(victim);
    const authorization = await header();
    api.caldav.reset();
    for (const method of ['GET', 'POST', 'DELETE']) {
      const res = await api.call(method, { authorization, body: method === 'POST' ? { appleId: BOB, appSpecificPassword: BOB_PASSWORD } : undefined });
      expect(res.status).toBe(401);
      expect(res.body).toStrictEqual(UNAUTHORIZED);
    }
    expect(api.caldav.requests).toHaveLength(0); // connect never ran
    expect(await api.connectionItem(victim)).toEqual(item); // disconnect never ran
  });
});
