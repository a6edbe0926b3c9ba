import { describe, expect, it } from 'vitest';
import type { BookingDetails } from '../../shared/booking/booking-event.js';
import { bookingObjectId, bookingToIcs, organizerScheduledByClient } from '../../shared/booking/ics.js';
import { parseIcs } from '../harness/ics.js';
import { readWithPython } from '../harness/python-ical.js';

const booking: BookingDetails = {
  id: 'bk_1',
  sequence: 7,
  title: 'Consultation with Ann',
  description: 'Bring notes',
  start: '2026-12-01T15:00:00+01:00',
  end: '2026-12-01T15:30:00-02:00',
  location: 'Room 4',
  organizer: { name: 'Host Name', email: 'host@example.com' },
  attendees: [
    { name: 'Ann', email: 'ann@example.com' },
    { email: 'bob@example.com' },
  ],
};

describe('booking → ICS', () => {
  it('writes every field, times in UTC, SCHEDULE-AGENT=CLIENT, no METHOD', () => {
    const { uid } = bookingObjectId('acct', 'bk_1');
    const text = bookingToIcs(booking, { uid });
    const ics = parseIcs(text);
    expect(ics.lines.some((l) => l.name === 'METHOD')).toBe(false);
    expect(ics.events).toHaveLength(1);
    const ev = ics.events[0]!;
    expect(ev.get('UID')!.value).toBe(uid);
    expect(ev.get('DTSTART')!.value).toBe('20261201T140000Z');
    expect(ev.get('DTEND')!.value).toBe('20261201T173000Z');
    expect(ev.get('DTSTAMP')!.value).toMatch(/^\d{8}T\d{6}Z$/);
    expect(ev.get('SUMMARY')!.value).toBe('Consultation with Ann');
    expect(ev.get('DESCRIPTION')!.value).toBe('Bring notes');
    expect(ev.get('LOCATION')!.value).toBe('Room 4');
    expect(ev.get('SEQUENCE')!.value).toBe('7');
    expect(ev.get('STATUS')!.value).toBe('CONFIRMED');
    expect(ev.get('ORGANIZER')).toMatchObject({ value: 'mailto:host@example.com', params: { CN: 'Host Name', 'SCHEDULE-AGENT': 'CLIENT' } });
    const attendees = ev.all('ATTENDEE');
    expect(attendees.map((a) => a.value.toLowerCase())).toEqual(['mailto:ann@example.com', 'mailto:bob@example.com']);
    expect(attendees.map((a) => a.params['SCHEDULE-AGENT'])).toEqual(['CLIENT', 'CLIENT']);
    expect(attendees[0]!.params.CN).toBe('Ann');
    expect(text.split('\r\n').every((l) => Buffer.byteLength(l) <= 75)).toBe(true);
  });

  it('the organizer carries SCHEDULE-AGENT=CLIENT too, and its line stays folded at 75 octets with its name intact', () => {
    const name = `Dr. Émilie Ångström-Łukasiewicz 東京 ${'x'.repeat(60)} "quoted"; semi: colon`;
    for (const organizer of [booking.organizer, { name, email: 'a.very.long.organizer.address.for.folding@example.com' }]) {
      const text = bookingToIcs({ ...booking, organizer }, { uid: 'u' });
      expect(text.split('\r\n').every((l) => Buffer.byteLength(l) <= 75)).toBe(true);
      expect(text).not.toContain('\uFFFD');
      const ics = parseIcs(text);
      const org = ics.events[0]!.all('ORGANIZER');
      expect(org).toHaveLength(1);
      expect(org[0]!.params['SCHEDULE-AGENT']).toBe('CLIENT');
      expect(org[0]!.value).toBe(`mailto:${organizer.email}`);
      expect(org[0]!.params.CN).toBe(organizer === booking.organizer ? 'Host Name' : name.replace(/"/g, ' ').replace(/\s+/g, ' ').trim());
    }
    // Only the ORGANIZER line changes; a folded one is unfolded first (its continuation is not left behind).
    const raw = ['BEGIN:VEVENT', 'UID:u', 'ORGANIZER;CN="A very long name that ical-generator had to fold at seventy-five', '  octets":mailto:host@example.com', 'SUMMARY:x', 'END:VEVENT', ''].join('\r\n');
    const fixed = organizerScheduledByClient(raw).split('\r\n');
    expect(fixed.filter((l) => !l.startsWith('ORGANIZER') && !l.startsWith(' '))).toEqual(['BEGIN:VEVENT', 'UID:u', 'SUMMARY:x', 'END:VEVENT', '']);
    expect(fixed.every((l) => Buffer.byteLength(l) <= 75)).toBe(true);
    expect(parseIcs(fixed.join('\r\n')).events[0]!.get('ORGANIZER')).toEqual({
      name: 'ORGANIZER',
      params: { 'SCHEDULE-AGENT': 'CLIENT', CN: 'A very long name that ical-generator had to fold at seventy-five octets' },
      value: 'mailto:host@example.com',
    });
    // Also in description mode (no attendees written).
    const desc = parseIcs(bookingToIcs(booking, { uid: 'u' }, { attendeeMode: 'description' })).events[0]!;
    expect(desc.get('ORGANIZER')!.params['SCHEDULE-AGENT']).toBe('CLIENT');
  });

  it('description mode lists attendees in the description and writes no ATTENDEE', () => {
    const ev = parseIcs(bookingToIcs(booking, { uid: 'u' }, { attendeeMode: 'description' })).events[0]!;
    expect(ev.all('ATTENDEE')).toEqual([]);
    expect(ev.get('DESCRIPTION')!.value).toBe('Bring notes\n\nAttendees:\nAnn <ann@example.com>\nbob@example.com');
    expect(ev.get('ORGANIZER')).toBeDefined();
  });

  it('no field can inject a property: CR/LF, quotes, semicolons and colons stay inside their value', () => {
    const evil = '\r\nATTENDEE;CN=x:mailto:evil@example.com\r\nX-EVIL:1\n"q";a:b,c\\';
    const text = bookingToIcs(
      {
        ...booking,
        title: `T${evil}`,
        description: `D${evil}`,
        location: `L${evil}`,
        organizer: { name: `O${evil}`, email: 'host@example.com' },
        attendees: [{ name: `A${evil}`, email: 'ann@example.com' }],
      },
      { uid: 'u' },
    );
    const ics = parseIcs(text);
    const ev = ics.events[0]!;
    expect(ics.lines.some((l) => l.name.startsWith('X-EVIL'))).toBe(false);
    expect(ev.all('ATTENDEE')).toHaveLength(1);
    expect(ev.all('ATTENDEE')[0]!.value.toLowerCase()).toBe('mailto:ann@example.com');
    expect(ev.get('SUMMARY')!.value).toBe(`T${evil.replace(/\r\n/g, '\n')}`);
    expect(ev.get('DESCRIPTION')!.value).toBe(`D${evil.replace(/\r\n/g, '\n')}`);
    expect(ev.get('LOCATION')!.value).toBe(`L${evil.replace(/\r\n/g, '\n')}`);
    expect(ev.get('ORGANIZER')!.value).toBe('mailto:host@example.com');
    expect(ev.get('ORGANIZER')!.params.CN).not.toMatch(/[\r\n"]/);
    expect(ev.all('ATTENDEE')[0]!.params.CN).not.toMatch(/[\r\n"]/);
    // Every physical line is a folded continuation or a known property.
    const names = new Set(ics.lines.map((l) => l.name));
    for (const n of names) expect(['BEGIN', 'END', 'VERSION', 'PRODID', 'UID', 'SEQUENCE', 'DTSTAMP', 'DTSTART', 'DTEND', 'SUMMARY', 'LOCATION', 'DESCRIPTION', 'ORGANIZER', 'ATTENDEE', 'STATUS']).toContain(n);
  });

  it('a meeting link is the URL (a URI: not TEXT-escaped), a line of the description and the location when the booking has none (read by python-icalendar)', () => {
    const meetingUrl = 'https://meet.example.com/abc-defg-hij?pwd=a,b;c&x=1';
    const withRoom = readWithPython(bookingToIcs({ ...booking, meetingUrl }, { uid: 'u' }));
    expect(withRoom.url).toBe(meetingUrl);
    expect(withRoom.location).toBe('Room 4');
    expect(withRoom.description).toBe(`Bring notes\n\nJoin the video call: ${meetingUrl}`);
    const text = bookingToIcs({ ...booking, location: undefined, description: undefined, meetingUrl }, { uid: 'u' });
    expect(text).toContain(`URL;VALUE=URI:https://meet.example.com/abc-defg-hij?pwd=a,b;c&x=1`);
    const alone = readWithPython(text);
    expect(alone.location).toBe(meetingUrl);
    expect(alone.description).toBe(`Join the video call: ${meetingUrl}`);
    expect(text.split('\r\n').every((l) => Buffer.byteLength(l) <= 75)).toBe(true);
    // A very long link is folded and reads back whole.
    const long = `https://meet.example.com/${'x'.repeat(300)}`;
    expect(readWithPython(bookingToIcs({ ...booking, meetingUrl: long }, { uid: 'u' })).url).toBe(long);
    // Without a link: no URL, description and location as they were.
    const none = readWithPython(bookingToIcs(booking, { uid: 'u' }));
    expect(none).toMatchObject({ url: null, location: 'Room 4', description: 'Bring notes' });
  });

  it('an alert is a display VALARM with TRIGGER:-PT<n>M and a description; none without the setting (read by python-icalendar)', () => {
    for (const n of [0, 15, 1440, 10_080]) {
      const text = bookingToIcs(booking, { uid: 'u' }, { alertMinutesBefore: n });
      expect(text).toContain(`\r\nTRIGGER:-PT${n}M\r\n`);
      const view = readWithPython(text);
      expect(view.alarms).toEqual([{ action: 'DISPLAY', triggerMinutesBefore: n, description: 'Reminder: Consultation with Ann' }]);
    }
    expect(readWithPython(bookingToIcs(booking, { uid: 'u' })).alarms).toEqual([]);
    expect(bookingToIcs(booking, { uid: 'u' })).not.toContain('VALARM');
    // The URL comes before the alarm (RFC 5545: an event's properties, then its alarms).
    const both = bookingToIcs({ ...booking, meetingUrl: 'https://meet.example.com/x' }, { uid: 'u' }, { alertMinutesBefore: 5 });
    expect(both.indexOf('URL;VALUE=URI:')).toBeLessThan(both.indexOf('BEGIN:VALARM'));
  });

  it('UID and resource name depend on account and booking only, and hide both', () => {
    const a = bookingObjectId('acct-1', 'bk/../1?x');
    expect(bookingObjectId('acct-1', 'bk/../1?x')).toEqual(a);
    expect(bookingObjectId('acct-2', 'bk/../1?x').uid).not.toBe(a.uid);
    expect(bookingObjectId('acct-1', 'bk_2').uid).not.toBe(a.uid);
    expect(a.filename).toMatch(/^[0-9a-f]{40}\.ics$/);
    expect(a.uid).not.toContain('acct-1');
  });
});
