// Busy times: CalDAV requests of a cold read, a warm read with nothing changed and a warm read
// after one event changed (counted at the proxy in front of Radicale), and the time of a warm
// read through the local stack's HTTP API (client-side, p50/p95). The account has several
// calendars, each with events another client wrote (recurring ones in Europe/Berlin among
// them). Every read revalidates (BUSY_REVALIDATE_SECONDS=0, set by run.ts): the figures are
// those of a read whose last check is older than the window in which the cache answers alone.
import { randomUUID } from 'node:crypto';
import { BERLIN_VTIMEZONE, oneEvent, putObjects } from '../test/harness/busy-fixtures.js';
import { PASSWORD, userFor, type World } from './world.js';

export const BUSY_CALENDARS = ['home', 'work', 'family'];

export interface BusyResult {
  calendars: number;
  eventsPerCalendar: number;
  cold: number;
  warmUnchanged: number;
  warmChanged: number;
  detail: { cold: string[]; warmUnchanged: string[]; warmChanged: string[] };
  warmMs: { p50: number; p95: number; samples: number };
  /**
   * Issue 16's cost ratio: warm reads of a 7-day window of "20 daily series since 2012 + one
   * 15-minute series since 2022" against 20 plain events, taken in turn (side by side in one run).
   */
  cost?: { plainP50: number; historyP50: number; ratio: number; samples: number; historyBusyIntervals: number };
  problems: string[];
}

/** Users (Radicale, one `home` calendar each) of the cost comparison. */
export const BUSY_COST_USERS = { plain: 'busyplain', history: 'busyold' };

/** A recurring event another client wrote: `lines` are its times and rule; in Europe/Berlin unless told. */
const series = (summary: string, lines: string[], zone = BERLIN_VTIMEZONE) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//bench//EN', ...zone, 'BEGIN:VEVENT', `UID:${randomUUID()}`, 'DTSTAMP:20120101T000000Z', `SUMMARY:${summary}`, ...lines, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const two = (n: number) => String(n).padStart(2, '0');

const recurring = (n: number) =>
  series(`Weekly ${n}`, [
    `DTSTART;TZID=Europe/Berlin:202612${two(1 + (n % 7))}T${two(8 + (n % 9))}0000`,
    `DTEND;TZID=Europe/Berlin:202612${two(1 + (n % 7))}T${two(8 + (n % 9))}4500`,
    'RRULE:FREQ=WEEKLY;COUNT=52',
  ]);
const daily = (n: number) =>
  series(`Daily since 2012 ${n}`, [
    `DTSTART;TZID=Europe/Berlin:201201${two(2 + (n % 20))}T${two(7 + (n % 12))}${n % 2 ? '30' : '00'}00`,
    `DTEND;TZID=Europe/Berlin:201201${two(2 + (n % 20))}T${two(7 + (n % 12))}${n % 2 ? '55' : '25'}00`,
    'RRULE:FREQ=DAILY',
  ]);
const quarterHourly = series('Every 15 minutes', ['DTSTART:20220103T000000Z', 'DURATION:PT5M', 'RRULE:FREQ=MINUTELY;INTERVAL=15'], []);

/** Warm-read time of a calendar with a long history against one of plain events, in turns. */
async function measureCost(world: World, samples: number, problems: string[]) {
  const accounts = [
    { key: 'plain', user: BUSY_COST_USERS.plain, objects: Array.from({ length: 20 }, (_, i) => oneEvent(ics(Date.UTC(2027, 0, 4 + (i % 7), 8 + (i % 9), 0)), ics(Date.UTC(2027, 0, 4 + (i % 7), 8 + (i % 9), 30)))) },
    { key: 'history', user: BUSY_COST_USERS.history, objects: [...Array.from({ length: 20 }, (_, i) => daily(i)), quarterHourly] },
  ] as const;
  const q = new URLSearchParams({ from: '2027-01-04T00:00:00Z', to: '2027-01-11T00:00:00Z', timeZone: 'Europe/Berlin' });
  const readers = [];
  for (const a of accounts) {
    const appleId = userFor(a.user);
    await putObjects(`${world.radicale.url}/${appleId}/home/`, { username: appleId, password: PASSWORD }, [...a.objects]);
    const accountId = `acct-${a.user}`;
    const connected = await world.connect(accountId, appleId);
    if (connected.status !== 201) problems.push(`busy cost: connect answered ${connected.status}`);
    const token = await world.stack.token(accountId);
    readers.push(async (counted = true) => {
      const t0 = performance.now();
      const res = await fetch(`${world.stack.url}/integrations/apple-calendar/busy?${q}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { busy?: Array<{ start: string; end: string }> };
      if (counted && (res.status !== 200 || !Array.isArray(body.busy))) problems.push(`busy cost: read answered ${res.status}`);
      return { ok: res.status === 200, ms: performance.now() - t0, busy: body.busy ?? [] };
    });
  }
  // Cold reads first (Radicale expands the 15-minute series from 2022 for its time-range
  // query and may pass the CalDAV timeout the first time), then warm containers and caches.
  for (const read of readers) {
    for (let i = 0; i < 5 && !(await read(false)).ok; i++);
    for (let i = 0; i < 3; i++) await read();
  }
  const times: number[][] = [[], []];
  let history: Array<{ start: string; end: string }> = [];
  for (let i = 0; i < samples; i++) {
    for (const [k, read] of readers.entries()) {
      const r = await read();
      times[k]!.push(r.ms);
      if (k === 1) history = r.busy;
    }
  }
  // Nothing skipped: each of the week's 672 quarter-hour instances is inside the answer (touching daily ones merged into it).
  const spans = history.map((b) => [Date.parse(b.start), Date.parse(b.end)] as const);
  for (let t = Date.parse('2027-01-04T00:00:00Z'); t < Date.parse('2027-01-11T00:00:00Z'); t += 15 * 60_000) {
    if (!spans.some(([s, e]) => s <= t && e >= t + 5 * 60_000)) {
      problems.push(`busy cost: the quarter-hour instance at ${new Date(t).toISOString()} is missing from the answer`);
      break;
    }
  }
  const historyBusyIntervals = history.length;
  const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const plainP50 = p50(times[0]!);
  const historyP50 = p50(times[1]!);
  return { plainP50, historyP50, ratio: historyP50 / plainP50, samples, historyBusyIntervals };
}

export async function measureBusy(world: World, opts: { accountId: string; user: string; eventsPerCalendar: number; samples: number }): Promise<BusyResult> {
  const problems: string[] = [];
  const appleId = userFor(opts.user);
  const auth = { username: appleId, password: PASSWORD };
  for (const [c, slug] of BUSY_CALENDARS.entries()) {
    const objects = Array.from({ length: opts.eventsPerCalendar }, (_, i) =>
      i % 4 === 0 ? recurring(i + c) : oneEvent(ics(Date.UTC(2027, 0, 4 + (i % 60), 8 + (i % 9), 0)), ics(Date.UTC(2027, 0, 4 + (i % 60), 8 + (i % 9), 30))),
    );
    await putObjects(`${world.radicale.url}/${appleId}/${slug}/`, auth, objects);
  }
  const connected = await world.connect(opts.accountId, appleId);
  if (connected.status !== 201) problems.push(`busy: connect answered ${connected.status}`);
  const token = await world.stack.token(opts.accountId);
  const q = new URLSearchParams({ from: '2027-01-04T00:00:00Z', to: '2027-02-01T00:00:00Z', timeZone: 'Europe/Berlin' });
  const read = async () => {
    await world.proxy.reset();
    const t0 = performance.now();
    const res = await fetch(`${world.stack.url}/integrations/apple-calendar/busy?${q}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { busy?: unknown[] };
    const ms = performance.now() - t0;
    if (res.status !== 200 || !Array.isArray(body.busy) || body.busy.length === 0) problems.push(`busy: read answered ${res.status}`);
    return { ms, seen: (await world.proxy.requests()).map((r) => `${r.method} ${r.status}`) };
  };

  const cold = await read();
  const warm: Array<{ ms: number; seen: string[] }> = [];
  for (let i = 0; i < opts.samples; i++) warm.push(await read());
  const changed: Array<{ ms: number; seen: string[] }> = [];
  for (let i = 0; i < Math.min(5, opts.samples); i++) {
    await putObjects(`${world.radicale.url}/${appleId}/home/`, auth, [oneEvent(ics(Date.UTC(2027, 0, 20, 12, i)), ics(Date.UTC(2027, 0, 20, 13, i)))]);
    changed.push(await read());
  }
  const cost = await measureCost(world, opts.samples, problems);
  const mean = (runs: Array<{ seen: string[] }>) => runs.reduce((n, r) => n + r.seen.length, 0) / Math.max(1, runs.length);
  const distinct = (runs: Array<{ seen: string[] }>) => [...new Set(runs.map((r) => r.seen.join(', ') || '(none)'))];
  const sorted = warm.map((w) => w.ms).sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
  return {
    calendars: BUSY_CALENDARS.length,
    eventsPerCalendar: opts.eventsPerCalendar,
    cold: cold.seen.length,
    warmUnchanged: mean(warm),
    warmChanged: mean(changed),
    detail: { cold: [cold.seen.join(', ')], warmUnchanged: distinct(warm), warmChanged: distinct(changed) },
    warmMs: { p50: pct(50), p95: pct(95), samples: sorted.length },
    cost,
    problems,
  };
}

const ics = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
