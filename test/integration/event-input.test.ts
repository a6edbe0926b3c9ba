/**
 * Booking input that degrades instead of destroying the booking (issue #10, point 6): the
 * validator's rules, then the real sync handler writing to a real Radicale — an
 * internationalised attendee is written, an unusable attendee is dropped (logged), control
 * characters never reach the calendar, and a SEQUENCE beyond iCalendar's INTEGER goes to the
 * dead-letter queue with its reason.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEQUENCE, parseBookingEvent } from '../../shared/booking/booking-event.js';
import { eventText } from '../../shared/booking/event-text.js';
import { bookingToIcs } from '../../shared/booking/ics.js';
import { canonicalInstant, isBookableInstant, parseRfc3339 } from '../../shared/booking/rfc3339.js';
import { startApiStack, type ApiStack } from '../harness/api-stack.js';
import { bookingEvent, sqsEvent } from '../harness/bookings.js';
import { readCalendar } from '../harness/calendar.js';

const event = (booking: Record<string, unknown>) => JSON.stringify({ ...bookingEvent('confirmed', 'acct', 'bk_1', 1), booking: { ...bookingEvent('confirmed', 'acct', 'bk_1', 1).booking, ...booking } });

describe('RFC 3339 date-times', () => {
  it.each([
    ['2026-12-01T15:00:00+01:00', '2026-12-01T14:00:00.000Z'],
    ['2026-12-01t15:00:00z', '2026-12-01T15:00:00.000Z'],
    ['2026-12-01T15:00:00Z', '2026-12-01T15:00:00.000Z'],
    ['2026-12-01T15:00:00.123456789Z', '2026-12-01T15:00:00.123Z'],
    ['2026-12-01T15:00:00-00:00', '2026-12-01T15:00:00.000Z'],
    ['2016-12-31T23:59:60Z', '2017-01-01T00:00:00.000Z'],
    ['2024-02-29T10:00:00+05:30', '2024-02-29T04:30:00.000Z'],
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
    ['2100-12-31T23:59:59Z', '2100-12-31T23:59:59.000Z'],
  ])('%s is %s', (text, iso) => {
    expect(isBookableInstant(text)).toBe(true);
    expect(new Date(parseRfc3339(text)!).toISOString()).toBe(iso);
    expect(new Date(Date.parse(canonicalInstant(text))).toISOString()).toBe(iso);
  });

  it.each([
    '2026-12-01T15:00:00', // no offset
    '2026-12-01 15:00:00Z', // space (not in RFC 3339's grammar)
    '2026-02-29T10:00:00Z', // not a leap year
    '2026-12-01T24:00:00Z',
    '2026-12-01T15:60:00Z',
    '2026-12-01T15:00:61Z',
    '2026-12-01T15:00:00+24:00',
    '2026-13-01T15:00:00Z',
    '+2026-12-01T15:00:00Z',
    '2026-12-01T15:00Z',
  ])('%s is not an RFC 3339 date-time', (text) => {
    expect(parseRfc3339(text)).toBeUndefined();
  });

  it.each(['1969-12-31T23:59:59Z', '2101-01-01T00:00:00Z', '1970-01-01T00:30:00+01:00', '9999-12-31T23:59:59Z', '0000-01-01T00:00:00Z'])('%s is outside 1970..2100: invalid', (text) => {
    expect(isBookableInstant(text)).toBe(false);
    const parsed = parseBookingEvent(event({ start: text }));
    expect(parsed).toMatchObject({ ok: false });
    if (!parsed.ok) expect(parsed.reason).toMatch(/start: must be/);
  });

  it('accepts lower-case t and z in a booking event and hands on the canonical spelling', () => {
    const parsed = parseBookingEvent(JSON.stringify({ ...JSON.parse(event({ start: '2026-12-01t15:00:00z', end: '2026-12-01t15:30:00.5z' })), occurredAt: '2026-11-24t10:00:00z' }));
    expect(parsed).toMatchObject({ ok: true, event: { occurredAt: '2026-11-24T10:00:00Z', booking: { start: '2026-12-01T15:00:00Z', end: '2026-12-01T15:30:00.5Z' } } });
  });
});

describe('SEQUENCE', () => {
  it('is 0..2^31-1 (iCalendar INTEGER); larger is invalid', () => {
    expect(MAX_SEQUENCE).toBe(2_147_483_647);
    expect(parseBookingEvent(event({ sequence: MAX_SEQUENCE })).ok).toBe(true);
    for (const sequence of [MAX_SEQUENCE + 1, 2 ** 53 - 1]) {
      const parsed = parseBookingEvent(event({ sequence }));
      expect(parsed).toMatchObject({ ok: false });
      if (!parsed.ok) expect(parsed.reason).toMatch(/sequence: must be at most 2147483647/);
    }
  });
});

describe('attendees and text', () => {
  it('accepts internationalised addresses', () => {
    for (const email of ['müller@example.de', '用户@例子.广告', 'ñandú@correo.es']) {
      expect(parseBookingEvent(event({ attendees: [{ name: 'X', email }], organizer: { email } })).ok, email).toBe(true);
    }
  });

  it('drops only an unusable attendee, with a reason that does not echo it', () => {
    const parsed = parseBookingEvent(
      event({ attendees: [{ name: 'Ann', email: 'ann@example.com' }, { name: 'Bad', email: 'x\r\nATTENDEE:mailto:evil@x.io' }, { email: 'müller@example.de' }, { name: 'n'.repeat(300), email: 'long@example.com' }] }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.event.type !== 'booking.cancelled' && parsed.event.booking.attendees.map((a) => a.email)).toEqual(['ann@example.com', 'müller@example.de']);
    expect(parsed.dropped).toHaveLength(2);
    expect(parsed.dropped![0]).toMatch(/^booking\.attendees\.1: email must be an e-mail address \(attendee dropped\)$/);
    expect(parsed.dropped!.join(' ')).not.toContain('evil');
  });

  it('strips control characters from event text, keeps line breaks and every printable character', () => {
    expect(eventText('a\u0000b\u0007c\u001bd\u007fe\u0085f')).toBe('abcdef');
    expect(eventText('line 1\r\nline 2\rline 3\n\ttabbed')).toBe('line 1\nline 2\nline 3\n\ttabbed');
    expect(eventText('bad \ud800 pair 😀 ok')).toBe('bad \ufffd pair 😀 ok');
    const parsed = parseBookingEvent(event({ title: 'Call\u0000 with\u001b[31m Ann', location: 'Room\u0007 1', description: 'Line 1\u0000\r\nLine 2' }));
    if (!parsed.ok || parsed.event.type === 'booking.cancelled') throw new Error('expected a valid event');
    const ics = bookingToIcs(parsed.event.booking, { uid: 'u@x' }, { stamp: new Date('2026-01-01T00:00:00Z') });
    expect(ics).toMatch(/SUMMARY:Call with\[31m Ann/);
    expect(ics).toMatch(/LOCATION:Room 1/);
    expect(ics).toMatch(/DESCRIPTION:Line 1\\nLine 2/);
    expect(ics).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/);
  });
});

describe('through the sync handler, to a real Radicale', () => {
  const ANN = 'ann@icloud.com';
  const PASSWORD = 'qmzr-vhkt-plwc-ndxa';
  let api: ApiStack;
  let output: ApiStack['output'];

  beforeAll(async () => {
      api = await startApiStack({ users: { [ANN]: PASSWORD } });
  output = api.output;
    expect((await api.call('POST', { as: 'acct', body: { appleId: ANN, appSpecificPassword: PASSWORD } })).status).toBe(201);
  });

  afterAll(async () => {
      await api?.stop();
  });

  it('writes the booking with the internationalised attendee, without the unusable one or control characters', async () => {
    const body = event({
      title: 'Beratung\u0000 mit Frau Müller',
      attendees: [{ name: 'Frau Müller', email: 'müller@example.de' }, { name: 'Broken', email: 'not an address' }],
    });
    const res = await api.stack.syncHandler(sqsEvent([body]));
    expect(res).toEqual({ batchItemFailures: [] });
    const events = [...(await readCalendar(`${api.radicale.url}/ann%40icloud.com/home/`, { username: ANN, password: PASSWORD })).values()];
    expect(events).toHaveLength(1);
    const unfolded = events[0]!.replace(/\r?\n[ \t]/g, '');
    expect(unfolded).toContain('Beratung mit Frau Müller');
    expect(unfolded).toMatch(/ATTENDEE[^\n]*mailto:müller@example\.de/i);
    expect(unfolded).not.toContain('not an address');
    expect(output.lines().some((l) => l.message === 'booking event: attendees dropped')).toBe(true);
  });

  it('a SEQUENCE beyond 2^31-1 goes to the dead-letter queue with its reason; the rest of the batch is written', async () => {
    const res = await api.stack.syncHandler(
      sqsEvent([JSON.stringify({ ...JSON.parse(event({ sequence: 2 ** 31 })), booking: { ...JSON.parse(event({ sequence: 2 ** 31 })).booking, id: 'bk_big' } }), event({ sequence: 2 })]),
    );
    expect(res).toEqual({ batchItemFailures: [] });
    const dead = await api.stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: api.stack.dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }));
    const reasons = (dead.Messages ?? []).map((m) => m.MessageAttributes?.rejectedReason?.StringValue);
    expect(reasons).toEqual([expect.stringMatching(/booking\.sequence: must be at most 2147483647/)]);
  });
});
