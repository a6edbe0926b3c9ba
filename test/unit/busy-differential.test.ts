/**
 * Seeded random recurring calendars, expanded by the connector and by a second
 * implementation (Debian's python3-recurring-ical-events on python3-icalendar, installed by
 * .ci/run): the busy intervals must be the same. Series start years before the window (so
 * the connector's start-near-the-window is exercised), in UTC, Berlin, New York or floating
 * time, with INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT, UNTIL, EXDATE, RDATE and moved or
 * cancelled instances. Instances never span a daylight-saving change (the Python library
 * adds durations on the wall clock, which is another question than the one compared here).
 * A failing seed is printed with the calendar: replay it with SEED=<n>.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { busyIntervals } from '../../shared/busy/expand.js';
import { ownAddressSet, reduceObject } from '../../shared/busy/ical.js';
import { mergeIntervals } from '../../shared/busy/intervals.js';
import { Budget } from '../../shared/busy/recurrence.js';
import { BERLIN_VTIMEZONE, NEW_YORK_VTIMEZONE } from '../harness/busy-fixtures.js';
import { prng } from '../harness/random.js';

const SCRIPT = fileURLToPath(new URL('../harness/recurring-ical-events.py', import.meta.url));
const CASES = 120;
const SEED = Number(process.env.SEED ?? 20261202);

interface Case {
  seed: number;
  ics: string;
  from: number;
  to: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const wall = (d: Date) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}00`;
const DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

function randomCase(seed: number): Case {
  const r = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T,>(xs: T[]) => xs[int(0, xs.length - 1)]!;
  const zone = pick(['UTC', 'Europe/Berlin', 'America/New_York', 'floating']);
  const subDaily = zone === 'UTC' && r() < 0.15;
  const freq = subDaily ? 'HOURLY' : pick(['DAILY', 'WEEKLY', 'WEEKLY', 'MONTHLY', 'YEARLY']);
  const start = new Date(Date.UTC(subDaily ? int(2024, 2026) : int(2012, 2026), int(0, 11), int(1, 28), int(6, 19), pick([0, 15, 30, 45])));
  const minutes = pick([15, 30, 45, 60, 90, 120]);
  const end = new Date(start.getTime() + minutes * 60_000);
  const prop = (name: string, d: Date) => (zone === 'UTC' ? `${name}:${wall(d)}Z` : zone === 'floating' ? `${name}:${wall(d)}` : `${name};TZID=${zone}:${wall(d)}`);

  const parts = [`FREQ=${freq}`];
  const interval = int(1, subDaily ? 5 : 3);
  if (interval > 1) parts.push(`INTERVAL=${interval}`);
  if (freq === 'WEEKLY' && r() < 0.6) parts.push(`BYDAY=${[...new Set([DAYS[(start.getUTCDay() + 6) % 7]!, pick(DAYS), pick(DAYS)])].join(',')}`);
  if (freq === 'MONTHLY') {
    const by = r();
    if (by < 0.3) parts.push(`BYMONTHDAY=${int(1, 28)},${int(1, 28)}`);
    else if (by < 0.6) parts.push(`BYDAY=${pick(['1', '2', '-1'])}${pick(DAYS)}`);
  }
  if (freq === 'YEARLY' && r() < 0.4) parts.push(`BYMONTH=${int(1, 12)}`);
  if (freq === 'DAILY' && r() < 0.2) parts.push(`BYDAY=${pick(DAYS)},${pick(DAYS)}`);
  const bound = r();
  const from = Date.UTC(int(2026, 2028), int(0, 11), int(1, 28));
  const to = from + int(3, 30) * 86_400_000;
  if (bound < 0.15) parts.push(`COUNT=${int(1, 400)}`);
  else if (bound < 0.3) parts.push(`UNTIL=${wall(new Date(from + int(-20, 20) * 86_400_000))}Z`);

  const lines = ['BEGIN:VEVENT', `UID:case-${seed}`, 'DTSTAMP:20260101T000000Z', prop('DTSTART', start), r() < 0.5 ? prop('DTEND', end) : `DURATION:PT${minutes}M`, `RRULE:${parts.join(';')}`];
  // EXDATE / RDATE near the window, on the series' time of day: an instance or not, both must agree.
  const near = (days: number) => new Date(Date.UTC(new Date(from).getUTCFullYear(), new Date(from).getUTCMonth(), new Date(from).getUTCDate() + days, start.getUTCHours(), start.getUTCMinutes()));
  if (r() < 0.5) lines.push(prop('EXDATE', near(int(0, 10))));
  if (r() < 0.3) lines.push(prop('RDATE', new Date(near(int(0, 10)).getTime() + 3 * 3_600_000)));
  lines.push('END:VEVENT');
  if (r() < 0.4) {
    // The first instance moved a day later (or cancelled).
    const moved = new Date(start.getTime() + 86_400_000);
    const cancelled = r() < 0.3;
    lines.push('BEGIN:VEVENT', `UID:case-${seed}`, 'DTSTAMP:20260101T000000Z', prop('RECURRENCE-ID', start), prop('DTSTART', moved), prop('DTEND', new Date(moved.getTime() + minutes * 60_000)), ...(cancelled ? ['STATUS:CANCELLED'] : []), 'END:VEVENT');
  }
  const tz = zone === 'Europe/Berlin' ? BERLIN_VTIMEZONE : zone === 'America/New_York' ? NEW_YORK_VTIMEZONE : [];
  const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//differential//EN', ...tz, ...lines, 'END:VCALENDAR', ''].join('\r\n');
  return { seed, ics, from, to };
}

/** Instances of the same event may touch or repeat: compare merged, clipped intervals. */
const merged = (xs: Array<{ start: number; end: number }>, c: Case) => mergeIntervals(xs, c.from, c.to).map((i) => `${new Date(i.start).toISOString()}/${new Date(i.end).toISOString()}`);

describe('busy expansion against python3-recurring-ical-events', () => {
  const cases = Array.from({ length: CASES }, (_, i) => randomCase(SEED + i));

  it(`${CASES} seeded random recurring events give the same busy intervals`, () => {
    const py = spawnSync('/usr/bin/python3', [SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(py.status, py.stderr).toBe(0);
    const theirs = JSON.parse(py.stdout) as Array<Array<[number, number]>>;
    const own = ownAddressSet([]);
    let instances = 0;
    for (const [n, c] of cases.entries()) {
      const result = busyIntervals([reduceObject(c.ics, own)!], { from: c.from, to: c.to, timeZone: 'UTC' });
      const expected = merged(theirs[n]!.map(([start, end]) => ({ start, end })), c);
      instances += theirs[n]!.length;
      expect(result.inexact, `seed ${c.seed}`).toBe(0);
      expect(merged(result.intervals, c), `seed ${c.seed}, window ${new Date(c.from).toISOString()}..${new Date(c.to).toISOString()}\n${c.ics}`).toEqual(expected);
    }
    expect(instances).toBeGreaterThan(CASES); // the windows do hold instances
  });

  it('starting near the window gives what expanding from DTSTART gives (the same rules with a COUNT the window never reaches)', () => {
    const own = ownAddressSet([]);
    for (const c of cases.filter((x) => !/COUNT=|UNTIL=/.test(x.ics))) {
      const fromStart = c.ics.replace(/^(RRULE:.*)$/m, '$1;COUNT=1000000');
      const win = { from: c.from, to: c.to, timeZone: 'UTC' };
      const near = busyIntervals([reduceObject(c.ics, own)!], win);
      const full = busyIntervals([reduceObject(fromStart, own)!], win, new Budget(10_000_000, 60_000)); // from DTSTART: years of steps, never cut here
      expect(full.inexact, `seed ${c.seed}`).toBe(0);
      expect(merged(near.intervals, c), `seed ${c.seed}`).toEqual(merged(full.intervals, c));
      expect(near.steps).toBeLessThanOrEqual(full.steps);
    }
  });
});
