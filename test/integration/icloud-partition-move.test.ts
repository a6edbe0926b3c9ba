/**
 * iCloud moves an account to another partition host (the canonical host then names the new
 * one, the old answers 403): busy reads and sync writes each find the calendars again once,
 * keep the person's conflict choices, and go on — through the whole stack, on the simulator.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { oneEvent, putObjects } from '../harness/busy-fixtures.js';
import { bookingEvent } from '../harness/bookings.js';
import { testStack } from '../harness/stack.js';
import { ICLOUD_SIM_CALENDARS, SIM_HOSTS, startICloudSim, type ICloudSim } from '../servers/icloud-sim/index.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';

const APPLE_ID = 'mover@icloud.example';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const ME = 'acct-mover';

let radicale: RadicaleServer;
let sim: ICloudSim;
let ctx: Awaited<ReturnType<typeof testStack>>;

beforeAll(async () => {
  radicale = await startRadicale({ users: { [APPLE_ID]: PASSWORD }, calendars: { [APPLE_ID]: ICLOUD_SIM_CALENDARS } });
  sim = await startICloudSim({ radicale });
  ctx = await testStack(sim.url, { caldavAllowedHosts: SIM_HOSTS.join(','), busyRevalidateSeconds: 0 });
});

afterAll(async () => {
  await ctx?.stack.stop();
  await sim?.stop();
  await radicale?.stop();
});

const busy = async () => {
  const q = new URLSearchParams({ from: '2027-03-01T00:00:00Z', to: '2027-03-08T00:00:00Z' });
  const res = await fetch(`${ctx.stack.url}/integrations/apple-calendar/busy?${q}`, { headers: { authorization: `Bearer ${await ctx.stack.token(ME)}` } });
  return { status: res.status, body: (await res.json()) as { busy: Array<{ start: string; end: string }> } };
};

it('busy reads and sync writes find the calendars again after a partition move, keeping the conflict choices', async () => {
  const connected = await ctx.api('POST', ME, { appleId: APPLE_ID, appSpecificPassword: PASSWORD });
  expect(connected.status).toBe(201);
  const auth = { username: APPLE_ID, password: PASSWORD };
  await putObjects(sim.calendarUrl(APPLE_ID, 'home'), auth, [oneEvent('20270302T090000Z', '20270302T100000Z')]);
  await putObjects(sim.calendarUrl(APPLE_ID, 'work'), auth, [oneEvent('20270303T090000Z', '20270303T100000Z')]);
  // Only Home counts for conflicts.
  const work = connected.body.calendars.find((c: { name: string }) => c.name === 'Work').url;
  const home = connected.body.calendars.find((c: { name: string }) => c.name === 'Home').url;
  expect((await ctx.api('PATCH', ME, { conflictCalendars: [home] })).status).toBe(200);
  expect((await busy()).body.busy).toEqual([{ start: '2027-03-02T09:00:00.000Z', end: '2027-03-02T10:00:00.000Z' }]);

  const oldPartition = sim.partitionUrlOf(APPLE_ID);
  const newPartition = sim.movePartition(APPLE_ID);
  expect(newPartition).not.toBe(oldPartition);

  // A busy read: 403 on the old partition → one re-discovery → the same answer, from the new host.
  sim.reset();
  const after = await busy();
  expect(after.status).toBe(200);
  expect(after.body.busy).toEqual([{ start: '2027-03-02T09:00:00.000Z', end: '2027-03-02T10:00:00.000Z' }]);
  expect(sim.requests.filter((r) => r.origin === sim.url && r.path === '/').length).toBe(1);
  const details = (await ctx.api('GET', ME)).body;
  expect(new URL(details.calendar.url).origin).toBe(newPartition);
  expect(details.calendars.map((c: { name: string; url: string; checkedForConflicts: boolean }) => [c.name, new URL(c.url).origin, c.checkedForConflicts])).toEqual([
    ['Home', newPartition, true],
    ['Work', newPartition, false], // the choice survived the move
  ]);
  expect(work).not.toBe(details.calendars[1].url);

  // A booking after the move goes straight to the new partition: no discovery any more.
  sim.reset();
  expect((await ctx.sync([bookingEvent('confirmed', ME, 'bk_after_move', 0)])).batchItemFailures).toEqual([]);
  expect(sim.requests.filter((r) => r.origin === sim.url)).toEqual([]);
  expect(sim.requests.filter((r) => r.method === 'PUT').map((r) => [r.origin, r.status])).toEqual([[newPartition, 201]]);
});
