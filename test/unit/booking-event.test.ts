import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { parseBookingEvent } from '../../shared/booking/booking-event.js';
import { bookingEventJsonSchema } from '../../shared/booking/booking-event-json-schema.js';

const contractExample = {
  type: 'booking.confirmed',
  userId: 'account id',
  occurredAt: '2026-11-24T10:00:00Z',
  booking: {
    id: 'bk_123',
    sequence: 0,
    title: 'Consultation with Ann',
    description: 'optional text',
    start: '2026-12-01T15:00:00+01:00',
    end: '2026-12-01T15:30:00+01:00',
    location: 'optional: address, room or meeting link',
    organizer: { name: 'Host Name', email: 'host@example.com' },
    attendees: [{ name: 'Ann', email: 'ann@example.com' }],
  },
};

describe('booking event schema', () => {
  it('accepts the contract example and a minimal cancellation', () => {
    expect(parseBookingEvent(JSON.stringify(contractExample)).ok).toBe(true);
    const cancelled = { type: 'booking.cancelled', userId: 'a', occurredAt: '2026-11-24T10:00:00Z', booking: { id: 'bk_123', sequence: 4 } };
    expect(parseBookingEvent(JSON.stringify(cancelled))).toMatchObject({ ok: true });
    const withLink = parseBookingEvent(JSON.stringify({ ...contractExample, booking: { ...contractExample.booking, meetingUrl: 'https://meet.example.com/abc-defg-hij?pwd=1' } }));
    expect(withLink).toMatchObject({ ok: true, event: { booking: { meetingUrl: 'https://meet.example.com/abc-defg-hij?pwd=1' } } });
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['unknown type', JSON.stringify({ ...contractExample, type: 'booking.moved' }), /type/],
    ['end before start', JSON.stringify({ ...contractExample, booking: { ...contractExample.booking, end: '2026-12-01T14:00:00+01:00' } }), /end must be after start/],
    ['end equal to start', JSON.stringify({ ...contractExample, booking: { ...contractExample.booking, end: contractExample.booking.start } }), /end/],
    ['negative sequence', JSON.stringify({ ...contractExample, booking: { ...contractExample.booking, sequence: -1 } }), /sequence/],
    ['fractional sequence', JSON.stringify({ ...contractExample, booking: { ...contractExample.booking, sequence: 1.5 } }), /sequence/],
    ['time without offset', JSON.stringify({ ...contractExample, booking: { ...contractExample.booking, start: '2026-12-01T15:00:00' } }), /start/],
    ['bad organizer e-mail', JSON.stringify({ ...contractExample, booking: { ...contractExample.booking, organizer: { email: 'x\r\nATTENDEE:y' } } }), /organizer/],
    ...['http://meet.example.com/a', 'javascript:alert(1)', 'ftp://meet.example.com/a', 'meet.example.com/a', 'https://', 'https://meet.example.com/a b', 'https://meet.example.com/\u0000', `https://meet.example.com/${'x'.repeat(2048)}`, 'HTTP://meet.example.com/a'].map(
      (meetingUrl) => [`meetingUrl ${JSON.stringify(meetingUrl.slice(0, 40))}`, JSON.stringify({ ...contractExample, booking: { ...contractExample.booking, meetingUrl } }), /booking\.meetingUrl: must be/] as [string, string, RegExp],
    ),
    ['missing title', JSON.stringify({ ...contractExample, booking: { ...contractExample.booking, title: undefined } }), /title/],
    ['cancellation without sequence', JSON.stringify({ type: 'booking.cancelled', userId: 'a', occurredAt: '2026-11-24T10:00:00Z', booking: { id: 'x' } }), /sequence/],
    ['missing userId', JSON.stringify({ ...contractExample, userId: undefined }), /userId/],
  ])('rejects %s with a reason', (_name, body, reason) => {
    const parsed = parseBookingEvent(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  it('the shipped JSON Schema is generated from the validator and agrees with it', () => {
    const shipped = JSON.parse(readFileSync(new URL('../../schemas/booking-event.schema.json', import.meta.url), 'utf8'));
    expect(shipped).toEqual(JSON.parse(JSON.stringify(bookingEventJsonSchema())));
    const fromFile = z.fromJSONSchema(shipped);
    expect(fromFile.safeParse(contractExample).success).toBe(true);
    expect(fromFile.safeParse({ ...contractExample, type: 'booking.moved' }).success).toBe(false);
    expect(fromFile.safeParse({ ...contractExample, booking: { ...contractExample.booking, sequence: -1 } }).success).toBe(false);
  });
});
