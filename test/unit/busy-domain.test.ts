/** The pure parts of busy times: the window, wall-clock conversion, merging, reduction. */
import { describe, expect, it } from 'vitest';
import { busyIntervals } from '../../shared/busy/expand.js';
import { ownAddressSet, reduceObject, UNREADABLE } from '../../shared/busy/ical.js';
import { mergeIntervals } from '../../shared/busy/intervals.js';
import { parseBusyQuery } from '../../shared/busy/window.js';
import { wallTimeToUtc } from '../../shared/busy/zone.js';
import { DomainError } from '../../shared/errors.js';

const Z = (iso: string) => Date.parse(iso);

describe('parseBusyQuery', () => {
  it('accepts Z and offsets, defaults the zone to UTC', () => {
    expect(parseBusyQuery({ from: '2026-12-01T00:00:00+01:00', to: '2026-12-02T00:00:00Z' })).toEqual({ from: Z('2026-11-30T23:00:00Z'), to: Z('2026-12-02T00:00:00Z'), timeZone: 'UTC' });
  });
  it('refuses a date without a zone, a reversed or too long window, an unknown zone — by field', () => {
    const fields = (q: Record<string, string>) => {
      try {
        parseBusyQuery(q);
      } catch (err) {
        return (err as DomainError).fields;
      }
      return undefined;
    };
    expect(fields({ from: '2026-12-01T00:00:00', to: '2026-12-02T00:00:00Z' })).toHaveProperty('from');
    expect(fields({ from: '2026-12-01T00:00:00Z', to: '2027-03-04T00:00:00Z' })).toHaveProperty('to');
    expect(fields({ from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z', timeZone: 'Nowhere/Else' })).toEqual({ timeZone: expect.any(String) });
  });
});

describe('wallTimeToUtc', () => {
  it('Berlin before and after summer time ends; a skipped time lands after the jump', () => {
    expect(wallTimeToUtc({ year: 2026, month: 10, day: 24, hour: 8 }, 'Europe/Berlin')).toBe(Z('2026-10-24T06:00:00Z'));
    expect(wallTimeToUtc({ year: 2026, month: 10, day: 25, hour: 8 }, 'Europe/Berlin')).toBe(Z('2026-10-25T07:00:00Z'));
    expect(wallTimeToUtc({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, 'Europe/Berlin')).toBe(Z('2026-03-29T01:30:00Z')); // 03:30 CEST
    expect(wallTimeToUtc({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, 'Europe/Berlin')).toBe(Z('2026-10-25T00:30:00Z')); // first 02:30
  });
});

describe('mergeIntervals', () => {
  it('clips, drops empty, sorts and merges touching intervals', () => {
    expect(mergeIntervals([{ start: 5, end: 7 }, { start: 0, end: 2 }, { start: 2, end: 3 }, { start: 9, end: 9 }, { start: 8, end: 20 }], 1, 10)).toEqual([
      { start: 1, end: 3 },
      { start: 5, end: 7 },
      { start: 8, end: 10 },
    ]);
  });
});

describe('reduceObject and busyIntervals', () => {
  const own = ownAddressSet(['me@icloud.com']);
  const cal = (...lines: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', ...lines, 'END:VCALENDAR', ''].join('\r\n');
  const win = { from: Z('2027-01-01T00:00:00Z'), to: Z('2027-02-01T00:00:00Z'), timeZone: 'UTC' };

  it('keeps times, rules and the own PARTSTAT; drops titles, descriptions and people', () => {
    const reduced = reduceObject(
      cal('BEGIN:VEVENT', 'UID:1', 'SUMMARY:Secret', 'DESCRIPTION:Private', 'LOCATION:Home', 'DTSTART:20270105T090000Z', 'DTEND:20270105T100000Z', 'RRULE:FREQ=DAILY;COUNT=2', 'ATTENDEE;CN=Me;PARTSTAT=ACCEPTED:mailto:me@icloud.com', 'ATTENDEE;CN=Ann:mailto:ann@example.org', 'ORGANIZER:mailto:boss@example.org', 'END:VEVENT'),
      own,
    )!;
    expect(reduced).toContain('RRULE:FREQ=DAILY;COUNT=2');
    expect(reduced).toContain('X-CONNECTOR-OWN-PARTSTAT:ACCEPTED');
    for (const gone of ['Secret', 'Private', 'Home', 'ann@', 'boss@', 'me@icloud.com', 'CN=']) expect(reduced).not.toContain(gone);
  });

  it('a VTODO-only object reduces to nothing; text that is not iCalendar is UNREADABLE (busy over the whole window)', () => {
    expect(reduceObject(cal('BEGIN:VTODO', 'UID:t', 'DUE:20270105T090000Z', 'END:VTODO'), own)).toBeUndefined();
    expect(reduceObject('not a calendar', own)).toBe(UNREADABLE);
    expect(busyIntervals([UNREADABLE], win).intervals).toEqual([{ start: win.from, end: win.to }]);
  });

  it('an instance invited without its series counts on its own; a moved instance from after the window is found', () => {
    const orphan = reduceObject(cal('BEGIN:VEVENT', 'UID:o', 'RECURRENCE-ID:20270301T090000Z', 'DTSTART:20270110T090000Z', 'DTEND:20270110T093000Z', 'END:VEVENT'), own)!;
    const moved = reduceObject(
      cal(
        'BEGIN:VEVENT', 'UID:m', 'DTSTART:20270101T120000Z', 'DTEND:20270101T130000Z', 'RRULE:FREQ=YEARLY;COUNT=3', 'END:VEVENT',
        'BEGIN:VEVENT', 'UID:m', 'RECURRENCE-ID:20290101T120000Z', 'DTSTART:20270120T120000Z', 'DTEND:20270120T130000Z', 'END:VEVENT',
      ),
      own,
    )!;
    const got = busyIntervals([orphan, moved], win).intervals.map((i) => [new Date(i.start).toISOString(), new Date(i.end).toISOString()]);
    expect(got.sort()).toEqual([
      ['2027-01-01T12:00:00.000Z', '2027-01-01T13:00:00.000Z'],
      ['2027-01-10T09:00:00.000Z', '2027-01-10T09:30:00.000Z'],
      ['2027-01-20T12:00:00.000Z', '2027-01-20T13:00:00.000Z'],
    ]);
  });

  it('a timed event without an end takes no time; an all-day one without an end takes its day', () => {
    const instant = reduceObject(cal('BEGIN:VEVENT', 'UID:i', 'DTSTART:20270105T090000Z', 'END:VEVENT'), own)!;
    const day = reduceObject(cal('BEGIN:VEVENT', 'UID:d', 'DTSTART;VALUE=DATE:20270106', 'END:VEVENT'), own)!;
    const got = busyIntervals([instant, day], { ...win, timeZone: 'Asia/Tokyo' }).intervals;
    expect(got).toEqual([{ start: Z('2027-01-05T15:00:00Z'), end: Z('2027-01-06T15:00:00Z') }]);
  });
});

describe('parseBusyQuery: real instants only', () => {
  const ok = (from: string, to = '2027-03-05T00:00:00Z') => {
    try {
      parseBusyQuery({ from, to });
      return true;
    } catch {
      return false;
    }
  };
  it('2027-02-30, 2026-02-29, 24:00, minute 60, second 60, month 13, offset +25:00 are refused; 2028-02-29 and offsets are fine', () => {
    for (const bad of ['2027-02-30T10:00:00Z', '2026-02-29T00:00:00Z', '2027-03-01T24:00:00Z', '2027-03-01T10:60:00Z', '2027-03-01T10:00:60Z', '2027-13-01T00:00:00Z', '2027-03-01T00:00:00+25:00', '2027-04-31T00:00:00Z']) {
      expect(ok(bad, '2027-05-05T00:00:00Z'), bad).toBe(false);
    }
    expect(ok('2028-02-29T00:00:00Z', '2028-03-01T00:00:00Z')).toBe(true);
    expect(ok('2027-03-01T23:59:59.999+05:30')).toBe(true);
    expect(ok('2027-03-01T10:00-0800')).toBe(true);
  });
});
