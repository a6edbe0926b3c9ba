/**
 * Where bookings go and what the event carries (issue 19), through the local stack's real
 * handlers, on Radicale and on the iCloud simulator: the destination calendar (PATCH
 * `calendar`, writable calendars only), events already written updated and cancelled where
 * they are, the fallback when the destination vanished, the alert (PATCH
 * `alertMinutesBefore`), and the booking's meeting link. What is in which calendar is read
 * from Radicale's files, and the events are read by python-icalendar, not by our code.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingEvent } from '../harness/bookings.js';
import { parseIcs } from '../harness/ics.js';
import { readWithPython } from '../harness/python-ical.js';
import { testStack } from '../harness/stack.js';
import { ICLOUD_SIM_CALENDARS, SIM_HOSTS, startICloudSim, type ICloudSim } from '../servers/icloud-sim/index.js';
import { startRadicale, type CalendarSpec, type RadicaleServer } from '../servers/radicale.js';

const PASSWORD = 'abcd-efgh-ijkl-mnop';
const SHARED: CalendarSpec = { slug: 'shared', displayName: 'Team (shared with me)', readOnly: true };
const SCENARIOS = ['details', 'invalid', 'destination', 'alert', 'link', 'vanished', 'partition'] as const;
type Scenario = (typeof SCENARIOS)[number];

type Ctx = Awaited<ReturnType<typeof testStack>>;
interface Server {
  name: 'Radicale' | 'iCloud simulator';
  radicale: RadicaleServer;
  sim?: ICloudSim;
  ctx: Ctx;
}

const servers: Server[] = [];
const appleId = (s: Server, u: Scenario) => `${u}-${s.name === 'Radicale' ? 'r' : 'i'}@icloud.example`;
const account = (s: Server, u: Scenario) => `acct-${s.name === 'Radicale' ? 'r' : 'i'}-${u}`;

beforeAll(async () => {
  for (const name of ['Radicale', 'iCloud simulator'] as const) {
    const users = Object.fromEntries(SCENARIOS.map((u) => [appleId({ name } as Server, u), PASSWORD]));
    const base = name === 'Radicale' ? [{ slug: 'home', displayName: 'Home' }, { slug: 'work', displayName: 'Work' }] : ICLOUD_SIM_CALENDARS;
    const radicale = await startRadicale({ users, calendars: Object.fromEntries(Object.keys(users).map((u) => [u, [...base, SHARED]])) });
    const sim = name === 'Radicale' ? undefined : await startICloudSim({ radicale });
    const ctx = await testStack(sim ? sim.url : radicale.url, sim ? { caldavAllowedHosts: SIM_HOSTS.join(',') } : {});
    servers.push({ name, radicale, sim, ctx });
  }
});

afterAll(async () => {
  for (const s of servers) {
    await s.ctx.stack.stop();
    await s.sim?.stop();
    await s.radicale.stop();
  }
});

/** Every event object of the account, by calendar folder, read from Radicale's storage. */
async function stored(s: Server, u: Scenario): Promise<Array<{ calendar: string; text: string; summary: string }>> {
  const root = path.join(s.radicale.dir, 'collections', 'collection-root', appleId(s, u));
  const out = [];
  for (const calendar of await readdir(root)) {
    if (calendar.startsWith('.')) continue;
    for (const name of (await readdir(path.join(root, calendar))).filter((n) => n.endsWith('.ics'))) {
      const text = await readFile(path.join(root, calendar, name), 'utf8');
      out.push({ calendar, text, summary: parseIcs(text).events[0]?.get('SUMMARY')?.value ?? '' });
    }
  }
  return out;
}
const where = async (s: Server, u: Scenario) => (await stored(s, u)).map((o) => `${o.calendar}: ${o.summary}`).sort();

async function connected(s: Server, u: Scenario) {
  const res = await s.ctx.api('POST', account(s, u), { appleId: appleId(s, u), appSpecificPassword: PASSWORD });
  expect(res.status).toBe(201);
  const url = (name: string) => res.body.calendars.find((c: { name: string }) => c.name === name)?.url as string;
  const patch = (body: unknown) => s.ctx.api('PATCH', account(s, u), body);
  const sync = async (...events: unknown[]) => expect((await s.ctx.sync(events)).batchItemFailures).toEqual([]);
  /** A booking event titled `<id> v<seq>`, with `o` merged into its booking (e.g. a meetingUrl). */
  const booking = (type: 'confirmed' | 'updated' | 'cancelled', id: string, seq: number, o: Record<string, unknown> = {}) => {
    const event = bookingEvent(type, account(s, u), id, seq, { title: `${id} v${seq}` });
    return type === 'cancelled' ? event : { ...event, booking: { ...event.booking, ...o } };
  };
  return { details: res.body, url, patch, sync, booking };
}

async function drainDlq(s: Server) {
  const out = [];
  for (;;) {
    const res = await s.ctx.stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: s.ctx.stack.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
    if (!res.Messages?.length) return out;
    for (const m of res.Messages) await s.ctx.stack.sqs.send(new DeleteMessageCommand({ QueueUrl: s.ctx.stack.dlqUrl, ReceiptHandle: m.ReceiptHandle! }));
    out.push(...res.Messages);
  }
}

describe.each(['Radicale', 'iCloud simulator'] as const)('on %s', (name) => {
  const server = () => servers.find((s) => s.name === name)!;

  it('details: every calendar that can hold events, the read-only shared one with writable false; the destination is the default calendar; no alert', async () => {
    const s = server();
    const { details } = await connected(s, 'details');
    expect(details.calendars.map((c: any) => [c.name, c.default, c.writable, c.checkedForConflicts])).toEqual([
      ['Home', true, true, true],
      ['Team (shared with me)', false, false, true],
      ['Work', false, true, true],
    ]);
    expect(details.calendar).toEqual({ name: 'Home', url: details.calendars[0].url });
    expect(details).not.toHaveProperty('alertMinutesBefore');
    expect(details).not.toHaveProperty('destinationUnavailable');
  });

  it('PATCH 400s: a URL not listed, a read-only calendar, an empty body, an unknown field, an alert out of range — nothing changes; 404 when not connected', async () => {
    const s = server();
    const { url, patch } = await connected(s, 'invalid');
    const fields = async (body: unknown) => {
      const res = await patch(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      return res.body.error.fields;
    };
    expect(await fields({ calendar: 'https://evil.example/calendars/work/' })).toEqual({ calendar: expect.stringContaining("one of the connection's calendars") });
    expect(await fields({ calendar: url('Team (shared with me)') })).toEqual({ calendar: expect.stringContaining('read-only') });
    expect(await fields({})).toEqual({ body: expect.stringContaining('at least one') });
    expect(await fields({ destination: url('Work') })).toEqual({ destination: expect.stringContaining('is not a setting') });
    expect(await fields({ calendar: url('Work'), color: 'red' })).toEqual({ color: expect.stringContaining('is not a setting') });
    for (const alertMinutesBefore of [-1, 10_081, 1.5, '15', true, [15]]) {
      expect(await fields({ alertMinutesBefore })).toEqual({ alertMinutesBefore: expect.stringContaining('0 to 10080') });
    }
    // A valid destination with an invalid alert: nothing of it is applied.
    expect(await fields({ calendar: url('Work'), alertMinutesBefore: 99_999 })).toHaveProperty('alertMinutesBefore');
    const after = (await s.ctx.api('GET', account(s, 'invalid'))).body;
    expect(after.calendar.name).toBe('Home');
    expect(after).not.toHaveProperty('alertMinutesBefore');
    // The edges are allowed.
    expect((await patch({ alertMinutesBefore: 0 })).body.alertMinutesBefore).toBe(0);
    expect((await patch({ alertMinutesBefore: 10_080 })).body.alertMinutesBefore).toBe(10_080);
    const none = await s.ctx.api('PATCH', 'acct-nobody', { calendar: url('Work') });
    expect([none.status, none.body.error.code]).toEqual([404, 'not_connected']);
  });

  it('destination: new bookings go to Work; a booking written to Home before stays there and is updated and cancelled there; never a copy', async () => {
    const s = server();
    const { url, patch, sync, booking } = await connected(s, 'destination');
    await sync(booking('confirmed', 'bk_old', 0));
    expect(await where(s, 'destination')).toEqual(['home: bk_old v0']);

    const res = await patch({ calendar: url('Work') });
    expect(res.status).toBe(200);
    expect(res.body.calendar).toEqual({ name: 'Work', url: url('Work') });
    expect(res.body.calendars.find((c: any) => c.name === 'Home').default).toBe(true);
    expect((await s.ctx.api('GET', account(s, 'destination'))).body.calendar.name).toBe('Work');

    await sync(booking('confirmed', 'bk_new', 0), booking('updated', 'bk_old', 1));
    expect(await where(s, 'destination')).toEqual(['home: bk_old v1', 'work: bk_new v0']);
    await sync(booking('cancelled', 'bk_old', 2), booking('updated', 'bk_new', 1));
    expect(await where(s, 'destination')).toEqual(['work: bk_new v1']);
    // Cancelled and confirmed again: a booking first written (again) now goes to the destination.
    await sync(booking('confirmed', 'bk_old', 3));
    expect(await where(s, 'destination')).toEqual(['work: bk_new v1', 'work: bk_old v3']);
  });

  it('alert: set, every event written from then on has a display VALARM (an update of an older event too); null removes it from later writes', async () => {
    const s = server();
    const { patch, sync, booking } = await connected(s, 'alert');
    await sync(booking('confirmed', 'bk_before', 0));
    const res = await patch({ alertMinutesBefore: 30 });
    expect([res.status, res.body.alertMinutesBefore]).toEqual([200, 30]);
    await sync(booking('confirmed', 'bk_after', 0));
    const alarms = async () => Object.fromEntries((await stored(s, 'alert')).map((o) => [o.summary, readWithPython(o.text).alarms]));
    const thirty = [{ action: 'DISPLAY', triggerMinutesBefore: 30, description: 'Reminder: bk_after v0' }];
    expect(await alarms()).toEqual({ 'bk_before v0': [], 'bk_after v0': thirty });
    await sync(booking('updated', 'bk_before', 1));
    expect((await alarms())['bk_before v1']).toEqual([{ ...thirty[0], description: 'Reminder: bk_before v1' }]);

    const off = await patch({ alertMinutesBefore: null });
    expect(off.status).toBe(200);
    expect(off.body).not.toHaveProperty('alertMinutesBefore');
    await sync(booking('updated', 'bk_after', 1));
    expect((await alarms())['bk_after v1']).toEqual([]);
  });

  it('meeting link: URL, a line of the description, and the location when the booking has none; a non-https link is invalid (DLQ with its reason), the rest of the batch is written', async () => {
    const s = server();
    const { sync, booking } = await connected(s, 'link');
    const link = 'https://meet.example.com/abc-defg-hij?pwd=x,y';
    await sync(booking('confirmed', 'bk_room', 0, { meetingUrl: link, location: 'Room 4' }), booking('confirmed', 'bk_online', 0, { meetingUrl: link, location: undefined }));
    const events = Object.fromEntries((await stored(s, 'link')).map((o) => [o.summary, readWithPython(o.text)]));
    expect(events['bk_room v0']).toMatchObject({ url: link, location: 'Room 4', description: `Booked online\n\nJoin the video call: ${link}` });
    expect(events['bk_online v0']).toMatchObject({ url: link, location: link, description: `Booked online\n\nJoin the video call: ${link}` });

    await drainDlq(s);
    const bad = ['http://meet.example.com/x', 'javascript:alert(1)', 'https://meet.example.com/a b'].map((meetingUrl, i) => booking('confirmed', `bk_bad${i}`, 0, { meetingUrl }));
    const res = await s.ctx.sync([...bad, booking('confirmed', 'bk_fine', 0)]);
    expect(res.batchItemFailures).toEqual([]);
    const dead = await drainDlq(s);
    expect(dead).toHaveLength(3);
    expect(dead.map((m) => m.MessageAttributes?.rejectedReason?.StringValue)).toEqual(Array(3).fill('booking.meetingUrl: must be an https URL'));
    expect((await where(s, 'link')).filter((w) => /bk_bad|bk_fine/.test(w))).toEqual(['home: bk_fine v0']);
  });

  it('a destination that vanished: new bookings fall back to the default calendar and the details say so; destination and alert survive a reconnect', async () => {
    const s = server();
    const { url, patch, sync, booking } = await connected(s, 'vanished');
    expect((await patch({ calendar: url('Work'), alertMinutesBefore: 10 })).status).toBe(200);
    const again = await s.ctx.api('POST', account(s, 'vanished'), { appleId: appleId(s, 'vanished'), appSpecificPassword: PASSWORD });
    expect(again.status).toBe(200);
    expect([again.body.calendar.name, again.body.alertMinutesBefore]).toEqual(['Work', 10]);
    await sync(booking('confirmed', 'bk_1', 0));
    expect(await where(s, 'vanished')).toEqual(['work: bk_1 v0']);

    // The person deletes "Work" in the Calendar app (with its events).
    await rm(path.join(s.radicale.dir, 'collections', 'collection-root', appleId(s, 'vanished'), 'work'), { recursive: true });
    await sync(booking('confirmed', 'bk_2', 0));
    expect(await where(s, 'vanished')).toEqual(['home: bk_2 v0']);
    expect(readWithPython((await stored(s, 'vanished'))[0]!.text).alarms).toHaveLength(1);
    const details = (await s.ctx.api('GET', account(s, 'vanished'))).body;
    expect(details.calendar).toEqual({ name: 'Home', url: url('Home') });
    expect(details.destinationUnavailable).toEqual({ name: 'Work', url: url('Work') });
    expect(details.calendars.map((c: any) => c.name)).not.toContain('Work');
    expect(details.lastSync.outcome).toBe('ok');
    // Choosing again clears the note.
    const chosen = await patch({ calendar: url('Home') });
    expect(chosen.body.calendar.name).toBe('Home');
    expect(chosen.body).not.toHaveProperty('destinationUnavailable');
  });
});

describe('on the iCloud simulator: a partition move', () => {
  it('keeps the destination: the next new booking goes to Work on the new partition host, an older one is updated where it is', async () => {
    const s = servers.find((x) => x.name === 'iCloud simulator')!;
    const { url, patch, sync, booking } = await connected(s, 'partition');
    await sync(booking('confirmed', 'bk_home', 0));
    expect((await patch({ calendar: url('Work') })).status).toBe(200);
    const moved = s.sim!.movePartition(appleId(s, 'partition'));
    await sync(booking('confirmed', 'bk_work', 0), booking('updated', 'bk_home', 1));
    expect(await where(s, 'partition')).toEqual(['home: bk_home v1', 'work: bk_work v0']);
    const details = (await s.ctx.api('GET', account(s, 'partition'))).body;
    expect(details.calendar).toEqual({ name: 'Work', url: `${moved}/${s.sim!.dsid(appleId(s, 'partition'))}/calendars/work/` });
    expect(details).not.toHaveProperty('destinationUnavailable');
  });
});
