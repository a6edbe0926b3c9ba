/**
 * `npm run demo`: the connector doing its job without an Apple ID (contract §4). Starts a
 * local Radicale (Debian's package) with a demo Apple ID and its files under
 * $LOCAL_DATA_DIR/demo-caldav, the whole local stack against it, connects the demo account,
 * sends three sample bookings (one with a meeting link) through the booking queue, waits until
 * they are in the calendar, and prints the dashboard URL. Ctrl-C stops everything it started.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BookingQueue } from '../shared/booking/booking-queue.js';
import type { BookingEvent } from '../shared/booking/booking-event.js';
import { readLocalSettings } from '../shared/config.js';
import { BookingStore, isPending } from '../shared/store/bookings.js';
import { freePort } from './ports.js';
import { startRadicaleProcess } from './radicale.js';
import { startLocalStack } from './stack.js';
import { stackOptions } from './stack-settings.js';

const DEMO_ACCOUNT = 'demo';
const DEMO_APPLE_ID = 'demo@example.com';
/** A demo app-specific password in Apple's form (it only ever unlocks the demo Radicale). */
const DEMO_PASSWORD = 'demo-demo-demo-demo';
const INSTALL_RADICALE = 'apt-get install -y radicale';

const settings = readLocalSettings();
if (!existsSync(settings.RADICALE_BIN)) {
  console.error(`npm run demo needs Radicale, a small CalDAV server, and ${settings.RADICALE_BIN} is missing. Install it (as root, or with sudo) with:\n\n  ${INSTALL_RADICALE}\n`);
  process.exit(1);
}

const dataDir = resolve(settings.LOCAL_DATA_DIR);
const calendarDir = join(dataDir, 'demo-caldav');
const radicale = await startRadicaleProcess(settings.RADICALE_BIN, {
  dir: calendarDir,
  port: await freePort(),
  users: { [DEMO_APPLE_ID]: DEMO_PASSWORD },
  calendars: {
    [DEMO_APPLE_ID]: [
      { slug: 'home', displayName: 'Home' },
      { slug: 'work', displayName: 'Work' },
      { slug: 'team', displayName: 'Team (shared with you, read-only)', readOnly: true },
      { slug: 'reminders', displayName: 'Reminders', components: ['VTODO'] },
    ],
  },
});
let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
const stopAll = async () => {
  await stack?.stop();
  await radicale.stop();
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

try {
  stack = await startLocalStack({ ...stackOptions(settings), caldavServerUrl: radicale.url, caldavAllowedHosts: undefined, logLevel: 'WARN' });
  const day = (offset: number, hh: number, mm = 0) => {
    const d = new Date();
    d.setUTCDate(d.getUTCDate() + offset);
    d.setUTCHours(hh, mm, 0, 0);
    return d;
  };
  // Something the host already has in another calendar, so the busy preview shows more than bookings.
  await seedEvent(`${radicale.url}/${DEMO_APPLE_ID}/work/demo-team-meeting.ics`, day(1, 11), day(1, 12));

  const res = await fetch(`${stack.url}/integrations/apple-calendar`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await stack.token(DEMO_ACCOUNT)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ appleId: DEMO_APPLE_ID, appSpecificPassword: DEMO_PASSWORD }),
  });
  const details = (await res.json()) as { calendar?: { name: string }; error?: { message: string } };
  if (!res.ok) throw new Error(`connecting the demo account failed: ${details.error?.message ?? res.status}`);

  // Each run writes them afresh: a later sequence than any run before (seconds since 1970).
  const sequence = Math.floor(Date.now() / 1000);
  const booking = (id: string, title: string, start: Date, more: Partial<Extract<BookingEvent, { type: 'booking.confirmed' }>['booking']>): BookingEvent => ({
    type: 'booking.confirmed',
    userId: DEMO_ACCOUNT,
    occurredAt: new Date().toISOString(),
    booking: {
      id,
      sequence,
      title,
      start: start.toISOString(),
      end: new Date(start.getTime() + 30 * 60_000).toISOString(),
      organizer: { name: 'Demo Host', email: DEMO_APPLE_ID },
      attendees: [],
      ...more,
    },
  });
  const samples = [
    booking('demo-1', 'Intro call with Ann', day(1, 9), { attendees: [{ name: 'Ann', email: 'ann@example.com' }], meetingUrl: 'https://meet.example.com/demo-intro-call' }),
    booking('demo-2', 'Consultation with Bob', day(2, 13), { attendees: [{ name: 'Bob', email: 'bob@example.com' }], location: 'Office, Room 2', description: 'Bring the contract.' }),
    booking('demo-3', 'Follow-up with Carla', day(3, 15, 30), { attendees: [{ name: 'Carla', email: 'carla@example.com' }] }),
  ];
  await new BookingQueue(stack.sqs, stack.queueUrl).send(samples, 'demo');
  const written = await waitUntilWritten(new BookingStore(stack.table), samples.map((s) => s.booking.id), 30_000);

  console.log(
    [
      '',
      'Apple Calendar connector: demo (no Apple ID needed)',
      `  CalDAV server   Radicale at ${radicale.url}, Apple ID ${DEMO_APPLE_ID}, files in ${calendarDir}`,
      `  Connected       account "${DEMO_ACCOUNT}"; bookings go to “${details.calendar?.name}”`,
      `  Sample bookings ${written} of ${samples.length} written (one with a meeting link)`,
      `  HTTP API        ${stack.url}/integrations/apple-calendar   (token: npm run --silent token -- ${DEMO_ACCOUNT})`,
      `  SQS endpoint    ${stack.sqsEndpoint}`,
      '',
      `Dashboard: ${stack.url}/?user=${DEMO_ACCOUNT}&details=open`,
      '',
      'Open it to see the connection, choose where bookings go and the alert, and the busy preview.',
      'Ctrl-C stops the demo.',
    ].join('\n'),
  );
} catch (err) {
  console.error(`The demo could not start: ${(err as Error).message}`);
  await stopAll();
  process.exit(1);
}

/** A plain event written straight to the demo calendar (as another client would); each run moves it to the coming days. */
async function seedEvent(url: string, start: Date, end: Date): Promise<void> {
  const utc = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//demo//EN', 'BEGIN:VEVENT', 'UID:demo-team-meeting', `DTSTAMP:${utc(new Date())}`, `DTSTART:${utc(start)}`, `DTEND:${utc(end)}`, 'SUMMARY:Team meeting', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
  const auth = `Basic ${Buffer.from(`${DEMO_APPLE_ID}:${DEMO_PASSWORD}`).toString('base64')}`;
  const res = await fetch(url, { method: 'PUT', headers: { authorization: auth, 'content-type': 'text/calendar; charset=utf-8' }, body: ics });
  if (!res.ok) throw new Error(`writing the demo's own event failed: HTTP ${res.status}`);
}

/** How many of the bookings are in the calendar once all are, or when time runs out. */
async function waitUntilWritten(bookings: BookingStore, ids: string[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = await Promise.all(ids.map((id) => bookings.get(DEMO_ACCOUNT, id)));
    const done = records.filter((r) => r && !isPending(r)).length;
    if (done === ids.length || Date.now() > deadline) return done;
    await new Promise((r) => setTimeout(r, 100));
  }
}
