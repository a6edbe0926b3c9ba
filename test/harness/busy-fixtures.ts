/**
 * Calendar objects as another client (Apple's Calendar app, Thunderbird…) writes them: random
 * file names and UIDs, titles and people in them, time zones with VTIMEZONE. One object per
 * rule of busy times (contract §1), and the busy intervals each must give — worked out by
 * hand below, not by the library under test.
 *
 * Europe/Berlin leaves summer time on Sunday 2026-10-25 at 03:00 (UTC+2 → UTC+1).
 * America/New_York is on UTC-4 until 2026-11-01.
 */
import { randomUUID } from 'node:crypto';

export const BERLIN_VTIMEZONE = [
  'BEGIN:VTIMEZONE',
  'TZID:Europe/Berlin',
  'BEGIN:DAYLIGHT',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'TZNAME:CEST',
  'DTSTART:19700329T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'TZNAME:CET',
  'DTSTART:19701025T030000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
];

export const NEW_YORK_VTIMEZONE = [
  'BEGIN:VTIMEZONE',
  'TZID:America/New_York',
  'BEGIN:DAYLIGHT',
  'TZOFFSETFROM:-0500',
  'TZOFFSETTO:-0400',
  'TZNAME:EDT',
  'DTSTART:20070311T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:-0400',
  'TZOFFSETTO:-0500',
  'TZNAME:EST',
  'DTSTART:20071104T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
];

/** A secret every object carries: it must never leave the connector or reach its table. */
export const SECRET_TITLE = 'Therapy with Dr. Secretname';

const vcal = (...parts: string[][]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Apple Inc.//macOS 15.0//EN', 'CALSCALE:GREGORIAN', ...parts.flat(), 'END:VCALENDAR', ''].join('\r\n');

const vevent = (uid: string, lines: string[]) => [
  'BEGIN:VEVENT',
  `UID:${uid}`,
  'DTSTAMP:20261001T000000Z',
  `SUMMARY:${SECRET_TITLE}`,
  'DESCRIPTION:Room 3\\, second floor',
  'ORGANIZER;CN=Someone Else:mailto:organizer@example.org',
  ...lines,
  'END:VEVENT',
];

/** The objects of the semantics test; `appleId` is the connected account (its own invitations). */
export function semanticsObjects(appleId: string): string[] {
  const id = () => randomUUID().toUpperCase();
  const weekly = id();
  return [
    // RRULE in Europe/Berlin across the DST change, one EXDATE, one moved and one cancelled instance.
    vcal(
      BERLIN_VTIMEZONE,
      vevent(weekly, [
        'DTSTART;TZID=Europe/Berlin:20261012T090000',
        'DTEND;TZID=Europe/Berlin:20261012T100000',
        'RRULE:FREQ=WEEKLY;COUNT=5',
        'EXDATE;TZID=Europe/Berlin:20261026T090000',
      ]),
      vevent(weekly, ['RECURRENCE-ID;TZID=Europe/Berlin:20261102T090000', 'DTSTART;TZID=Europe/Berlin:20261103T160000', 'DTEND;TZID=Europe/Berlin:20261103T170000']),
      vevent(weekly, ['RECURRENCE-ID;TZID=Europe/Berlin:20261109T090000', 'DTSTART;TZID=Europe/Berlin:20261109T090000', 'DTEND;TZID=Europe/Berlin:20261109T100000', 'STATUS:CANCELLED']),
    ),
    // Daily 08:00 Berlin wall time over the change: 06:00Z, then 07:00Z.
    vcal(BERLIN_VTIMEZONE, vevent(id(), ['DTSTART;TZID=Europe/Berlin:20261024T080000', 'DTEND;TZID=Europe/Berlin:20261024T083000', 'RRULE:FREQ=DAILY;COUNT=3'])),
    // RDATE without RRULE.
    vcal(vevent(id(), ['DTSTART:20261020T120000Z', 'DTEND:20261020T130000Z', 'RDATE:20261022T120000Z,20261023T120000Z'])),
    // All-day, busy (explicitly OPAQUE) and free (Apple's default TRANSPARENT wins).
    vcal(vevent(id(), ['DTSTART;VALUE=DATE:20261028', 'DTEND;VALUE=DATE:20261029', 'TRANSP:OPAQUE'])),
    vcal(vevent(id(), ['DTSTART;VALUE=DATE:20261029', 'DTEND;VALUE=DATE:20261030', 'TRANSP:TRANSPARENT'])),
    // Floating: 10:00 wherever the reader is.
    vcal(vevent(id(), ['DTSTART:20261030T100000', 'DTEND:20261030T110000'])),
    // Timed but free; cancelled.
    vcal(vevent(id(), ['DTSTART:20261031T090000Z', 'DTEND:20261031T100000Z', 'TRANSP:TRANSPARENT'])),
    vcal(vevent(id(), ['DTSTART:20261104T090000Z', 'DTEND:20261104T100000Z', 'STATUS:CANCELLED'])),
    // Invitations: declined by the account (free), accepted (busy), declined by someone else (busy).
    vcal(vevent(id(), ['DTSTART:20261105T090000Z', 'DTEND:20261105T100000Z', `ATTENDEE;CN=Me;PARTSTAT=DECLINED:mailto:${appleId}`, 'ATTENDEE;PARTSTAT=ACCEPTED:mailto:ann@example.org'])),
    vcal(vevent(id(), ['DTSTART:20261105T130000Z', 'DTEND:20261105T140000Z', `ATTENDEE;CN=Me;PARTSTAT=ACCEPTED:mailto:${appleId.toUpperCase()}`])),
    vcal(vevent(id(), ['DTSTART:20261105T150000Z', 'DTEND:20261105T160000Z', 'ATTENDEE;PARTSTAT=DECLINED:mailto:ann@example.org', `ATTENDEE;PARTSTAT=ACCEPTED:mailto:${appleId}`])),
    // A to-do is never busy.
    vcal(['BEGIN:VTODO', `UID:${id()}`, 'DTSTAMP:20261001T000000Z', `SUMMARY:${SECRET_TITLE}`, 'DTSTART:20261106T090000Z', 'DUE:20261106T100000Z', 'END:VTODO']),
    // Overlapping events merge; an event over the window's end is clipped.
    vcal(vevent(id(), ['DTSTART:20261107T090000Z', 'DTEND:20261107T100000Z'])),
    vcal(vevent(id(), ['DTSTART:20261107T093000Z', 'DURATION:PT1H30M'])),
    vcal(vevent(id(), ['DTSTART:20261115T230000Z', 'DTEND:20261116T020000Z'])),
  ];
}

/** The window of the semantics test and its answer with timeZone=UTC. */
export const SEMANTICS_WINDOW = { from: '2026-10-19T00:00:00.000Z', to: '2026-11-16T00:00:00.000Z' };
const i = (start: string, end: string) => ({ start: `${start}:00.000Z`, end: `${end}:00.000Z` });
export const SEMANTICS_BUSY_UTC = [
  i('2026-10-19T07:00', '2026-10-19T08:00'), // weekly, 09:00 CEST
  i('2026-10-20T12:00', '2026-10-20T13:00'), // RDATE series: DTSTART
  i('2026-10-22T12:00', '2026-10-22T13:00'), // RDATE
  i('2026-10-23T12:00', '2026-10-23T13:00'), // RDATE
  i('2026-10-24T06:00', '2026-10-24T06:30'), // daily 08:00 CEST
  i('2026-10-25T07:00', '2026-10-25T07:30'), // daily 08:00 CET (summer time ended at 03:00)
  i('2026-10-26T07:00', '2026-10-26T07:30'), // daily 08:00 CET; the weekly 09:00 that day is an EXDATE
  i('2026-10-28T00:00', '2026-10-29T00:00'), // all-day (UTC day); the TRANSPARENT all-day on the 29th is free
  i('2026-10-30T10:00', '2026-10-30T11:00'), // floating 10:00 read in UTC; 31st TRANSPARENT free
  i('2026-11-03T15:00', '2026-11-03T16:00'), // the 2 Nov instance moved to 3 Nov 16:00 CET; 4 Nov CANCELLED free
  i('2026-11-05T13:00', '2026-11-05T14:00'), // accepted; the 09:00 the account declined is free
  i('2026-11-05T15:00', '2026-11-05T16:00'), // declined by someone else, accepted by the account
  i('2026-11-07T09:00', '2026-11-07T11:00'), // 09:00–10:00 and 09:30–11:00 merged; 9 Nov cancelled instance free
  i('2026-11-15T23:00', '2026-11-16T00:00'), // clipped at the window's end
];
/** All-day in Berlin: 28 Oct 00:00 CET = 27 Oct 23:00Z. */
export const ALL_DAY_BERLIN = { from: '2026-10-27T00:00:00.000Z', to: '2026-10-29T12:00:00.000Z', timeZone: 'Europe/Berlin', busy: [i('2026-10-27T23:00', '2026-10-28T23:00')] };
/** Floating 10:00 in New York (EDT, UTC-4) = 14:00Z. */
export const FLOATING_NEW_YORK = { from: '2026-10-30T00:00:00.000Z', to: '2026-10-31T00:00:00.000Z', timeZone: 'America/New_York', busy: [i('2026-10-30T14:00', '2026-10-30T15:00')] };

/** Writes objects straight to a calendar (not through the connector), as another client: random names. */
export async function putObjects(calendarUrl: string, auth: { username: string; password: string }, objects: string[]): Promise<string[]> {
  const authorization = 'Basic ' + Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
  const urls: string[] = [];
  for (const body of objects) {
    const url = new URL(`${randomUUID()}.ics`, calendarUrl).href;
    const res = await fetch(url, { method: 'PUT', headers: { authorization, 'content-type': 'text/calendar; charset=utf-8' }, body });
    if (res.status >= 300) throw new Error(`PUT ${url}: ${res.status} ${await res.text()}`);
    urls.push(url);
  }
  return urls;
}

export async function deleteObject(url: string, auth: { username: string; password: string }) {
  const authorization = 'Basic ' + Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
  const res = await fetch(url, { method: 'DELETE', headers: { authorization } });
  if (res.status >= 300 && res.status !== 404) throw new Error(`DELETE ${url}: ${res.status}`);
}

export const oneEvent = (start: string, end: string) => vcal(vevent(randomUUID(), [`DTSTART:${start}`, `DTEND:${end}`]));
