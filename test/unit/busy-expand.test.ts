/**
 * Busy expansion (shared/busy/expand.ts, recurrence.ts) on the objects the issue found
 * answered wrong, each expected interval worked out by hand in the comment beside it.
 *
 * New York enters summer time on Sunday 2027-03-14 at 02:00 (UTC-5 → UTC-4); Berlin on
 * Sunday 2027-03-28 at 02:00 (UTC+1 → UTC+2).
 */
import { describe, expect, it } from 'vitest';
import { busyIntervals, type ExpandWindow } from '../../shared/busy/expand.js';
import { ownAddressSet, reduceObject, UNREADABLE } from '../../shared/busy/ical.js';
import { mergeIntervals } from '../../shared/busy/intervals.js';
import { Budget } from '../../shared/busy/recurrence.js';
import { BERLIN_VTIMEZONE, NEW_YORK_VTIMEZONE } from '../harness/busy-fixtures.js';

const Z = (iso: string) => Date.parse(iso);
const own = ownAddressSet(['me@icloud.com']);
const cal = (...lines: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');
const event = (...lines: string[]) => ['BEGIN:VEVENT', `UID:${lines.join().length}-${Math.random()}`, 'DTSTAMP:20260101T000000Z', ...lines, 'END:VEVENT'];
const win = (from: string, to: string, timeZone = 'UTC'): ExpandWindow => ({ from: Z(from), to: Z(to), timeZone });
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** Reduces like a busy read, expands, merges and clips: [start, end] ISO pairs. */
function busy(objects: string[], w: ExpandWindow, budget?: Budget) {
  const reduced = objects.map((o) => reduceObject(o, own)).filter((o): o is string => !!o);
  const result = busyIntervals(reduced, w, budget);
  return { ...result, got: mergeIntervals(result.intervals, w.from, w.to).map((i) => [iso(i.start), iso(i.end)]) };
}

describe('exact time', () => {
  it('DURATION:PT25H across the New York change ends 25 real hours later (RFC 5545 §3.3.6), with or without VTIMEZONE', () => {
    const w = win('2027-03-13T00:00:00Z', '2027-03-16T00:00:00Z');
    // 12:00 EST = 17:00Z; + 25 h = 2027-03-14T18:00Z (14:00 EDT), not 13:00 EDT (17:00Z).
    const expected = [['2027-03-13T17:00:00Z', '2027-03-14T18:00:00Z']];
    expect(busy([cal(...NEW_YORK_VTIMEZONE, ...event('DTSTART;TZID=America/New_York:20270313T120000', 'DURATION:PT25H'))], w).got).toEqual(expected);
    expect(busy([cal(...event('DTSTART;TZID=America/New_York:20270313T120000', 'DURATION:PT25H'))], w).got).toEqual(expected);
  });

  it('DURATION in days is nominal: P1D across the Berlin change lasts 23 hours; PT24H lasts 24', () => {
    const w = win('2027-03-27T00:00:00Z', '2027-03-30T00:00:00Z');
    // 27 Mar 12:00 CET = 11:00Z; P1D → 28 Mar 12:00 CEST = 10:00Z; PT24H → 11:00Z.
    expect(busy([cal(...BERLIN_VTIMEZONE, ...event('DTSTART;TZID=Europe/Berlin:20270327T120000', 'DURATION:P1D'))], w).got).toEqual([['2027-03-27T11:00:00Z', '2027-03-28T10:00:00Z']]);
    expect(busy([cal(...BERLIN_VTIMEZONE, ...event('DTSTART;TZID=Europe/Berlin:20270327T120000', 'DURATION:PT24H'))], w).got).toEqual([['2027-03-27T11:00:00Z', '2027-03-28T11:00:00Z']]);
  });

  it('a weekly 45-hour series (DTEND) across the Berlin change: every instance lasts the first one\'s 45 hours (§3.8.5.3)', () => {
    const w = win('2027-03-15T00:00:00Z', '2027-04-10T00:00:00Z');
    const series = cal(...BERLIN_VTIMEZONE, ...event('DTSTART;TZID=Europe/Berlin:20270319T090000', 'DTEND;TZID=Europe/Berlin:20270321T060000', 'RRULE:FREQ=WEEKLY;COUNT=3'));
    expect(busy([series], w).got).toEqual([
      ['2027-03-19T08:00:00Z', '2027-03-21T05:00:00Z'], // Fri 09:00 CET → Sun 06:00 CET
      ['2027-03-26T08:00:00Z', '2027-03-28T05:00:00Z'], // Fri 09:00 CET + 45 h = Sun 07:00 CEST (wall 06:00 would be 04:00Z)
      ['2027-04-02T07:00:00Z', '2027-04-04T04:00:00Z'], // Fri 09:00 CEST + 45 h
    ]);
  });

  it('a Windows zone name without VTIMEZONE (Outlook) is its IANA zone; an unknown TZID counts busy from its earliest reading', () => {
    const w = win('2027-01-05T00:00:00Z', '2027-01-07T00:00:00Z');
    // 09:00 in W. Europe Standard Time (Europe/Berlin, CET) = 08:00Z.
    const outlook = cal(...event('DTSTART;TZID="W. Europe Standard Time":20270105T090000', 'DTEND;TZID="W. Europe Standard Time":20270105T100000'));
    expect(busy([outlook], w).got).toEqual([['2027-01-05T08:00:00Z', '2027-01-05T09:00:00Z']]);
    const eastern = cal(...event('DTSTART;TZID=Eastern Standard Time:20270105T090000', 'DTEND;TZID=Eastern Standard Time:20270105T100000'));
    expect(busy([eastern], w).got).toEqual([['2027-01-05T14:00:00Z', '2027-01-05T15:00:00Z']]);
    // Nowhere: 09:00 is at the earliest 09:00-14:00 = 19:00Z the day before → busy from there to the end.
    const unknown = busy([cal(...event('DTSTART;TZID=Mars/Olympus:20270106T090000', 'DTEND;TZID=Mars/Olympus:20270106T100000'))], w);
    expect(unknown.got).toEqual([['2027-01-05T19:00:00Z', '2027-01-07T00:00:00Z']]);
    expect(unknown.inexact).toBe(1);
  });
});

describe('nothing skipped', () => {
  it('RRULE:FREQ=MINUTELY;INTERVAL=15 since 2022: all 672 instances of a 2027 week, at the cost of that week', () => {
    const w = win('2027-01-04T00:00:00Z', '2027-01-11T00:00:00Z');
    const r = busy([cal(...event('DTSTART:20220103T000000Z', 'DURATION:PT5M', 'RRULE:FREQ=MINUTELY;INTERVAL=15'))], w);
    expect(r.got).toHaveLength(7 * 24 * 4);
    expect(r.got[0]).toEqual(['2027-01-04T00:00:00Z', '2027-01-04T00:05:00Z']);
    expect(r.got.at(-1)).toEqual(['2027-01-10T23:45:00Z', '2027-01-10T23:50:00Z']);
    expect(r.steps).toBeLessThan(1_000); // the week and the margins around it, not five years
    expect(r.inexact).toBe(0);
  });

  it('FREQ=SECONDLY beyond the read\'s budget: exact up to where it stopped, busy from there to the end of the window', () => {
    const w = win('2027-01-04T00:00:00Z', '2027-01-05T00:00:00Z');
    const r = busy([cal(...event('DTSTART:20200101T000000Z', 'DURATION:PT1S', 'RRULE:FREQ=SECONDLY;INTERVAL=2'))], w, new Budget(50_000));
    expect(r.outOfBudget).toBe(true);
    expect(r.got[0]).toEqual(['2027-01-04T00:00:00Z', '2027-01-04T00:00:01Z']);
    expect(r.got[1]).toEqual(['2027-01-04T00:00:02Z', '2027-01-04T00:00:03Z']);
    const last = r.got.at(-1)!;
    expect(last[1]).toBe('2027-01-05T00:00:00Z');
    expect(Z(last[0]!)).toBeLessThan(Z('2027-01-04T03:00:00Z')); // its share: 6 250 of the 50 000 steps, 1 800 of them in the hour before the window
    // One dense series is cut at its share: another series in the same read stays exact.
    const both = busy(
      [cal(...event('DTSTART:20200101T000000Z', 'DURATION:PT1S', 'RRULE:FREQ=SECONDLY;INTERVAL=2')), cal(...event('DTSTART:20250101T000000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;BYHOUR=23'))],
      win('2027-01-03T00:00:00Z', '2027-01-05T00:00:00Z'),
      new Budget(50_000),
    );
    expect(both.inexact).toBe(1); // the daily series was expanded exactly
    expect(both.got.at(-1)).toEqual([expect.any(String), '2027-01-05T00:00:00Z']);
    // With the default budget a 92-day window still answers, busy to its end.
    const long = busy([cal(...event('DTSTART:20200101T000000Z', 'DURATION:PT1S', 'RRULE:FREQ=SECONDLY;INTERVAL=2'))], win('2027-01-01T00:00:00Z', '2027-04-03T00:00:00Z'));
    expect(long.got.at(-1)![1]).toBe('2027-04-03T00:00:00Z');
  });

  it('a rule no date can match (DAILY on 30 February) ends within the budget, busy from its start', () => {
    const w = win('2027-01-04T00:00:00Z', '2027-01-05T00:00:00Z');
    const r = busy([cal(...event('DTSTART:20270101T090000Z', 'DTEND:20270101T100000Z', 'RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30'))], w, new Budget(20_000));
    expect(r.got).toEqual([['2027-01-04T00:00:00Z', '2027-01-05T00:00:00Z']]);
  });

  it('RDATE;VALUE=PERIOD: each period with its own end or duration', () => {
    const w = win('2027-01-01T00:00:00Z', '2027-02-01T00:00:00Z');
    const r = busy([cal(...event('DTSTART:20270105T090000Z', 'DTEND:20270105T100000Z', 'RDATE;VALUE=PERIOD:20270110T090000Z/20270110T113000Z,20270111T090000Z/PT2H'))], w);
    expect(r.got).toEqual([
      ['2027-01-05T09:00:00Z', '2027-01-05T10:00:00Z'],
      ['2027-01-10T09:00:00Z', '2027-01-10T11:30:00Z'],
      ['2027-01-11T09:00:00Z', '2027-01-11T11:00:00Z'],
    ]);
  });

  it('two VEVENTs of one UID without RECURRENCE-ID: both count', () => {
    const w = win('2027-01-01T00:00:00Z', '2027-02-01T00:00:00Z');
    const two = cal(
      ...['BEGIN:VEVENT', 'UID:dup', 'DTSTAMP:20260101T000000Z', 'DTSTART:20270105T090000Z', 'DTEND:20270105T100000Z', 'END:VEVENT'],
      ...['BEGIN:VEVENT', 'UID:dup', 'DTSTAMP:20260101T000000Z', 'DTSTART:20270106T090000Z', 'DTEND:20270106T100000Z', 'END:VEVENT'],
    );
    expect(busy([two], w).got).toEqual([
      ['2027-01-05T09:00:00Z', '2027-01-05T10:00:00Z'],
      ['2027-01-06T09:00:00Z', '2027-01-06T10:00:00Z'],
    ]);
  });

  it('an unknown FREQ or rule part, DTEND before DTSTART: busy from DTSTART to the end of the window; other events stay exact', () => {
    const w = win('2027-01-01T00:00:00Z', '2027-02-01T00:00:00Z');
    const plain = cal(...event('DTSTART:20270102T090000Z', 'DTEND:20270102T100000Z'));
    for (const odd of ['RRULE:FREQ=FOO', 'RRULE:FREQ=DAILY;BYFOO=1', 'RRULE:FREQ=YEARLY;RSCALE=CHINESE;BYMONTH=1']) {
      const r = busy([plain, cal(...event('DTSTART:20270110T090000Z', 'DTEND:20270110T100000Z', odd))], w);
      expect(r.got, odd).toEqual([['2027-01-02T09:00:00Z', '2027-01-02T10:00:00Z'], ['2027-01-10T09:00:00Z', '2027-02-01T00:00:00Z']]);
      expect(r.inexact).toBe(1);
    }
    expect(busy([cal(...event('DTSTART:20270110T090000Z', 'DTEND:20270110T080000Z'))], w).got).toEqual([['2027-01-10T09:00:00Z', '2027-02-01T00:00:00Z']]);
    // A series from 2020 with an unknown part: from the window's start.
    expect(busy([cal(...event('DTSTART:20200110T090000Z', 'DTEND:20200110T100000Z', 'RRULE:FREQ=WEEKLY;BYFOO=2'))], w).got).toEqual([['2027-01-01T00:00:00Z', '2027-02-01T00:00:00Z']]);
  });

  it('a payload without BEGIN: (or not iCalendar at all) is busy over the whole window', () => {
    expect(reduceObject('garbage', own)).toBe(UNREADABLE);
    expect(reduceObject('', own)).toBe(UNREADABLE);
    const w = win('2027-01-01T00:00:00Z', '2027-01-02T00:00:00Z');
    expect(busyIntervals([UNREADABLE], w).intervals).toEqual([{ start: w.from, end: w.to }]);
  });
});

describe('cost', () => {
  it('a daily series since 2012 read in 2027 costs what the week holds, and gives every instance', () => {
    const w = win('2027-01-04T00:00:00Z', '2027-01-11T00:00:00Z', 'Europe/Berlin');
    const r = busy([cal(...BERLIN_VTIMEZONE, ...event('DTSTART;TZID=Europe/Berlin:20120102T090000', 'DTEND;TZID=Europe/Berlin:20120102T093000', 'RRULE:FREQ=DAILY', 'EXDATE;TZID=Europe/Berlin:20270106T090000'))], w);
    expect(r.got.map((i) => i[0])).toEqual(['04', '05', '07', '08', '09', '10'].map((d) => `2027-01-${d}T08:00:00Z`));
    expect(r.steps).toBeLessThan(30);
  });
});

describe('cost of finished series', () => {
  it('a COUNT series that ended years ago is expanded to its end once; later reads skip it', () => {
    const w = win('2027-01-04T00:00:00Z', '2027-01-11T00:00:00Z');
    const ended = [cal(...event('DTSTART:20120102T090000Z', 'DTEND:20120102T100000Z', 'RRULE:FREQ=DAILY;COUNT=3000'))]; // to April 2020
    const first = busy(ended, w);
    const again = busy(ended, w);
    expect(first.got).toEqual([]);
    expect(first.steps).toBeGreaterThan(2_900);
    expect(again.got).toEqual([]);
    expect(again.steps).toBeLessThan(10);
  });
});

describe('peers\' lessons', () => {
  const w = win('2027-01-01T00:00:00Z', '2027-02-01T00:00:00Z');
  it('X-MICROSOFT-CDO-INTENDEDSTATUS:FREE is free like TRANSP:TRANSPARENT; an unanswered invitation (NEEDS-ACTION) is busy', () => {
    expect(busy([cal(...event('DTSTART:20270105T090000Z', 'DTEND:20270105T100000Z', 'X-MICROSOFT-CDO-INTENDEDSTATUS:FREE'))], w).got).toEqual([]);
    expect(busy([cal(...event('DTSTART:20270105T090000Z', 'DTEND:20270105T100000Z', 'X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY'))], w).got).toHaveLength(1);
    expect(busy([cal(...event('DTSTART:20270105T090000Z', 'DTEND:20270105T100000Z', 'ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:me@icloud.com'))], w).got).toEqual([['2027-01-05T09:00:00Z', '2027-01-05T10:00:00Z']]);
  });

  it('iCloud\'s duplicated DTSTAMP lines are accepted', () => {
    const r = busy([cal(...event('DTSTAMP:20261201T000000Z', 'DTSTART:20270105T090000Z', 'DTEND:20270105T100000Z'))], w);
    expect(r.got).toEqual([['2027-01-05T09:00:00Z', '2027-01-05T10:00:00Z']]);
    expect(r.inexact).toBe(0);
  });

  it('RANGE=THISANDFUTURE moves this and every later instance; the earlier ones stay', () => {
    const series = cal(
      ...['BEGIN:VEVENT', 'UID:f', 'DTSTAMP:20260101T000000Z', 'DTSTART:20270104T090000Z', 'DTEND:20270104T100000Z', 'RRULE:FREQ=WEEKLY;COUNT=4', 'END:VEVENT'],
      ...['BEGIN:VEVENT', 'UID:f', 'DTSTAMP:20260101T000000Z', 'RECURRENCE-ID;RANGE=THISANDFUTURE:20270118T090000Z', 'DTSTART:20270118T140000Z', 'DTEND:20270118T143000Z', 'END:VEVENT'],
    );
    expect(busy([series], w).got).toEqual([
      ['2027-01-04T09:00:00Z', '2027-01-04T10:00:00Z'],
      ['2027-01-11T09:00:00Z', '2027-01-11T10:00:00Z'],
      ['2027-01-18T14:00:00Z', '2027-01-18T14:30:00Z'],
      ['2027-01-25T14:00:00Z', '2027-01-25T14:30:00Z'],
    ]);
  });
});
