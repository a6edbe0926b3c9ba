import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startICloudLike, ICLOUD_LIKE_CALENDARS, type ICloudLike } from '../servers/icloud.js';
import { SIM_HOSTS, startICloudSim, type ICloudSim } from '../servers/icloud-sim/index.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';
import { startXandikos, type XandikosServer } from '../servers/xandikos.js';
import { bookingEvent } from '../harness/bookings.js';
import { readCalendar } from '../harness/calendar.js';
import { parseIcs } from '../harness/ics.js';
import { testStack } from '../harness/stack.js';

/** Every test server listens on 127.0.0.1: the trusted host here. */
const LOCAL = ['127.0.0.1'];

/**
 * The same sync on an iCloud-shaped setup (the stack's configured server) and on Xandikos.
 * CALDAV_SERVER_URL is only used to discover, so the Xandikos account is stored with the
 * calendar a real discovery against Xandikos found; from there sync uses only that URL.
 */
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const APPLE_ID = 'alice@icloud.example';

let radicale: RadicaleServer;
let icloud: ICloudLike;
let ctx: Awaited<ReturnType<typeof testStack>>;

beforeAll(async () => {
  radicale = await startRadicale({ users: { [APPLE_ID]: PASSWORD }, calendars: { [APPLE_ID]: ICLOUD_LIKE_CALENDARS } });
  icloud = await startICloudLike({ radicale });
  ctx = await testStack(icloud.url, { caldavAllowedHosts: SIM_HOSTS.join(',') });
});

afterAll(async () => {
  await ctx?.stack.stop();
  await icloud?.stop();
  await radicale?.stop();
});

describe('iCloud-shaped server', () => {
  it('connect stores the calendar on the partition host; sync writes there, one request per change', async () => {
    const res = await ctx.api('POST', 'acct-ic', { appleId: APPLE_ID, appSpecificPassword: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.body.calendar.name).toBe('Home');
    expect(new URL(res.body.calendar.url).origin).toBe(new URL(icloud.partitionUrl).origin);
    const calendarPath = new URL(res.body.calendar.url).pathname;

    icloud.a.reset();
    icloud.b.reset();
    const steps: Array<[unknown, string]> = [
      [bookingEvent('confirmed', 'acct-ic', 'bk_ic', 0), 'PUT'],
      [bookingEvent('updated', 'acct-ic', 'bk_ic', 1, { title: 'Moved' }), 'PUT'],
      [bookingEvent('confirmed', 'acct-ic', 'bk_ic', 0), ''], // stale redelivery: nothing
    ];
    for (const [msg, method] of steps) {
      icloud.b.reset();
      expect((await ctx.sync([msg])).batchItemFailures).toEqual([]);
      expect(icloud.b.requests.map((r) => r.method).join()).toBe(method);
    }
    expect(icloud.a.requests).toEqual([]); // no discovery per booking
    const objects = await readCalendar(`${radicale.url}${calendarPath}`, { username: APPLE_ID, password: PASSWORD });
    expect([...objects.values()].map((t) => parseIcs(t).events[0]!.get('SUMMARY')!.value)).toEqual(['Moved']);

    icloud.b.reset();
    expect((await ctx.sync([bookingEvent('cancelled', 'acct-ic', 'bk_ic', 2)])).batchItemFailures).toEqual([]);
    expect(icloud.b.requests.map((r) => r.method)).toEqual(['DELETE']);
    expect((await readCalendar(`${radicale.url}${calendarPath}`, { username: APPLE_ID, password: PASSWORD })).size).toBe(0);
  });

  it('a revoked password answered with two challenges turns the connection to error', async () => {
    await radicale.setPassword(APPLE_ID, 'zzzz-zzzz-zzzz-zzzz');
    expect((await ctx.sync([bookingEvent('confirmed', 'acct-ic', 'bk_ic2', 0)])).batchItemFailures).toEqual([]);
    const details = await ctx.api('GET', 'acct-ic');
    expect(details.body).toMatchObject({ status: 'error', lastSync: { outcome: 'failed', error: 'credentials_rejected' } });
    await radicale.setPassword(APPLE_ID, PASSWORD);
  });
});

describe('Xandikos', () => {
  let xandikos: XandikosServer;
  beforeAll(async () => {
    xandikos = await startXandikos({ username: 'bob', password: PASSWORD });
  });
  afterAll(async () => {
    await xandikos?.stop();
  });

  it('create, update and cancel are one request each', async () => {
    // The stack discovers on the iCloud-like server; point this account's stored calendar at
    // Xandikos the way a connect against it would have (discovery on Xandikos is covered by
    // the credentials tests).
    const { discoverCalendar } = await import('../../shared/caldav/discovery.js');
    const found = await discoverCalendar({ serverUrl: xandikos.url, credentials: { username: 'bob', password: PASSWORD }, timeoutMs: 5000, allowedHosts: LOCAL });
    const { ConnectionStore } = await import('../../shared/store/connections.js');
    const { localCipher, loadOrCreateKey } = await import('../../shared/cipher/local.js');
    const cipher = localCipher(loadOrCreateKey(ctx.stack.config.LOCAL_KEY_FILE!));
    const store = new ConnectionStore(ctx.stack.table);
    const now = new Date().toISOString();
    await store.save({
      accountId: 'acct-x',
      appleId: 'bob',
      ciphertext: await cipher.encrypt(PASSWORD, 'acct-x'),
      calendarUrl: found.calendar.url,
      calendarName: found.calendar.name,
      principalUrl: found.principalUrl,
      homeUrl: found.homeUrl,
      status: 'active',
      updatedAt: now,
    });

    const methods: string[][] = [];
    for (const msg of [
      bookingEvent('confirmed', 'acct-x', 'bk_x', 0),
      bookingEvent('updated', 'acct-x', 'bk_x', 1, { title: 'Updated on Xandikos' }),
    ]) {
      xandikos.proxy.reset();
      expect((await ctx.sync([msg])).batchItemFailures).toEqual([]);
      methods.push(xandikos.proxy.requests.map((r) => `${r.method} ${r.status}`));
    }
    const objects = await readCalendar(found.calendar.url, { username: 'bob', password: PASSWORD });
    expect([...objects.values()].map((t) => parseIcs(t).events[0]!.get('SUMMARY')!.value)).toEqual(['Updated on Xandikos']);
    xandikos.proxy.reset();
    expect((await ctx.sync([bookingEvent('cancelled', 'acct-x', 'bk_x', 2)])).batchItemFailures).toEqual([]);
    methods.push(xandikos.proxy.requests.map((r) => `${r.method} ${r.status}`));
    expect(methods).toEqual([['PUT 201'], ['PUT 204'], ['DELETE 204']]);
    expect((await readCalendar(found.calendar.url, { username: 'bob', password: PASSWORD })).size).toBe(0);
  });
});

describe('iCloud simulator (stricter iCloud, issue #11)', () => {
  let sim: ICloudSim;
  beforeAll(async () => {
    sim = await startICloudSim({ radicale });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('create, update and cancel are one request each on the partition host; the event carries no scheduling mail', async () => {
    // Stored the way a connect against the simulator would (the stack's discovery server is the iCloud-like front).
    const { discoverCalendar } = await import('../../shared/caldav/discovery.js');
    const found = await discoverCalendar({ serverUrl: sim.url, credentials: { username: APPLE_ID, password: PASSWORD }, timeoutMs: 5000, allowedHosts: SIM_HOSTS });
    expect(found.calendar.url).toBe(sim.calendarUrl(APPLE_ID, 'home'));
    const { ConnectionStore } = await import('../../shared/store/connections.js');
    const { localCipher, loadOrCreateKey } = await import('../../shared/cipher/local.js');
    const cipher = localCipher(loadOrCreateKey(ctx.stack.config.LOCAL_KEY_FILE!));
    const store = new ConnectionStore(ctx.stack.table);
    await store.save({
      accountId: 'acct-sim',
      appleId: APPLE_ID,
      ciphertext: await cipher.encrypt(PASSWORD, 'acct-sim'),
      calendarUrl: found.calendar.url,
      calendarName: found.calendar.name,
      principalUrl: found.principalUrl,
      homeUrl: found.homeUrl,
      status: 'active',
      updatedAt: new Date().toISOString(),
    });

    const methods: string[][] = [];
    for (const msg of [
      bookingEvent('confirmed', 'acct-sim', 'bk_sim', 0, { attendees: [{ name: 'Ann', email: 'ann@example.com' }, { email: 'bob@example.com' }] }),
      bookingEvent('updated', 'acct-sim', 'bk_sim', 1, { title: 'Updated on the simulator' }),
      bookingEvent('cancelled', 'acct-sim', 'bk_sim', 2),
    ]) {
      sim.reset();
      expect((await ctx.sync([msg])).batchItemFailures).toEqual([]);
      methods.push(sim.requests.map((r) => `${r.method} ${new URL(r.origin).host === new URL(sim.partitionUrl).host ? 'partition' : 'canonical'} ${r.status}`));
      expect(sim.mails).toEqual([]);
      if (msg.type === 'booking.updated') {
        const objs = (await sim.objects(APPLE_ID)).filter((o) => o.text.includes('Updated on the simulator'));
        expect(objs.map((o) => o.calendar)).toEqual(['home']);
      }
    }
    expect(methods).toEqual([['PUT partition 201'], ['PUT partition 201'], ['DELETE partition 200']]);
  });
});
