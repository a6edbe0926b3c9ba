import { describe, expect, it } from 'vitest';
import type { BookingDetails } from '../../shared/booking/booking-event.js';
import { bookingObjectId, bookingToIcs, organizerScheduledByClient } from '../../shared/booking/ics.js';
import { parseIcs } from '../harness/ics.js';

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

  it('UID and resource name depend on account and booking only, and hide both', () => {
    const a = bookingObjectId('acct-1', 'bk/../1?x');
    expect(bookingObjectId('acct-1', 'bk/../1?x')).toEqual(a);
    expect(bookingObjectId('acct-2', 'bk/../1?x').uid).not.toBe(a.uid);
    expect(bookingObjectId('acct-1', 'bk_2').uid).not.toBe(a.uid);
    expect(a.filename).toMatch(/^[0-9a-f]{40}\.ics$/);
    expect(a.uid).not.toContain('acct-1');
  });
});
