import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { calendarChange, calendarChangeSchema, changeDedupId } from '../../shared/host-changes/calendar-change.js';
import { calendarChangeJsonSchema } from '../../shared/host-changes/calendar-change-json-schema.js';
import { checkMessage } from '../../shared/host-changes/check-message.js';
import { parseSyncMessage } from '../../shared/sync/sync-message.js';
import { eventTimes, judge, watched } from '../../shared/host-changes/decide.js';
import { isPending, type BookingRecord } from '../../shared/store/bookings.js';

/** The contract's example (§2b). */
const example = {
  type: 'calendar.event.rescheduled',
  userId: 'account id',
  detectedAt: '2026-11-24T10:07:00.000Z',
  booking: { id: 'bk_123', sequence: 3 },
  event: { start: '2026-12-01T15:00:00.000Z', end: '2026-12-01T15:30:00.000Z' },
};

const record = (over: Partial<BookingRecord> = {}): BookingRecord => ({
  accountId: 'a',
  bookingId: 'b',
  seq: 2,
  desired: 'event',
  generation: 'g',
  appliedSeq: 2,
  appliedState: 'event',
  eventUrl: 'https://p01-caldav.icloud.com/1/calendars/home/x.ics',
  appliedAt: 0,
  booking: { id: 'b', sequence: 2, title: 'T', start: '2026-12-01T15:00:00+01:00', end: '2026-12-01T15:30:00+01:00', organizer: { email: 'h@example.com' }, attendees: [] },
  updatedAt: '2026-11-24T10:00:00Z',
  expiresAt: 0,
  ...over,
});

const vevent = (lines: string[], extra = '') =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', extra, 'BEGIN:VEVENT', 'UID:x', 'DTSTAMP:20261124T100000Z', ...lines, 'END:VEVENT', 'END:VCALENDAR'].filter(Boolean).join('\r\n');
const BERLIN = [
  'BEGIN:VTIMEZONE', 'TZID:Europe/Berlin',
  'BEGIN:STANDARD', 'DTSTART:19701025T030000', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', 'END:STANDARD',
  'BEGIN:DAYLIGHT', 'DTSTART:19700329T020000', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'END:DAYLIGHT',
  'END:VTIMEZONE',
].join('\r\n');

describe('the calendar-change message (§2b)', () => {
  it('accepts the contract example and what the connector builds; refuses other shapes', () => {
    expect(calendarChangeSchema.safeParse(example).success).toBe(true);
    const deleted = calendarChange('u', 'bk', 3, { kind: 'deleted' }, new Date('2026-11-24T10:07:00Z'));
    expect(deleted).toEqual({ type: 'calendar.event.deleted', userId: 'u', detectedAt: '2026-11-24T10:07:00.000Z', booking: { id: 'bk', sequence: 3 } });
    expect(calendarChangeSchema.safeParse(deleted).success).toBe(true);
    expect(calendarChangeSchema.safeParse({ ...deleted, event: example.event }).success).toBe(false);
    expect(calendarChangeSchema.safeParse({ ...example, event: undefined }).success).toBe(false);
    expect(calendarChangeSchema.safeParse({ ...example, event: { start: '2026-12-01T16:00:00+01:00', end: example.event.end } }).success).toBe(false);
  });

  it('the same change always has the same deduplication id, at most 128 printable characters', () => {
    expect(changeDedupId('bk_123', 3, { kind: 'deleted' })).toBe('bk_123:3:deleted');
    expect(changeDedupId('bk_123', 3, { kind: 'rescheduled', start: '2026-12-01T15:00:00.000Z', end: 'x' })).toBe('bk_123:3:rescheduled:2026-12-01T15:00:00.000Z');
    const long = changeDedupId('b'.repeat(256), 3, { kind: 'deleted' });
    expect(long).toMatch(/^[0-9a-f]{64}$/);
    expect(changeDedupId('b'.repeat(256), 3, { kind: 'deleted' })).toBe(long);
    expect(changeDedupId('bück', 3, { kind: 'deleted' })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the shipped JSON Schema is generated from the validator and agrees with it', () => {
    const shipped = JSON.parse(readFileSync(new URL('../../schemas/calendar-change.schema.json', import.meta.url), 'utf8'));
    expect(shipped).toEqual(JSON.parse(JSON.stringify(calendarChangeJsonSchema())));
    const fromFile = z.fromJSONSchema(shipped);
    expect(fromFile.safeParse(example).success).toBe(true);
    expect(fromFile.safeParse({ ...example, type: 'calendar.event.moved' }).success).toBe(false);
  });

  it('check messages are internal messages of the booking-events queue, told apart from booking events', () => {
    expect(parseSyncMessage(JSON.stringify(checkMessage('acct')))).toEqual({ ok: true, kind: 'internal', message: { type: 'connector.host-changes.check', userId: 'acct' } });
    expect(parseSyncMessage(JSON.stringify({ type: 'connector.host-changes.check' })).ok).toBe(false);
    expect(parseSyncMessage(JSON.stringify({ type: 'booking.confirmed', userId: 'acct' }))).toMatchObject({ ok: false });
  });
});

describe('what counts as a host change', () => {
  it('reads DTSTART/DTEND as instants (UTC, TZID with VTIMEZONE, DURATION) — values worked out by hand', () => {
    expect(eventTimes(vevent(['DTSTART:20261201T140000Z', 'DTEND:20261201T143000Z']))).toEqual({ start: '2026-12-01T14:00:00.000Z', end: '2026-12-01T14:30:00.000Z' });
    // Berlin in December is UTC+1; in July UTC+2.
    expect(eventTimes(vevent(['DTSTART;TZID=Europe/Berlin:20261201T150000', 'DTEND;TZID=Europe/Berlin:20261201T153000'], BERLIN))).toEqual({ start: '2026-12-01T14:00:00.000Z', end: '2026-12-01T14:30:00.000Z' });
    expect(eventTimes(vevent(['DTSTART;TZID=Europe/Berlin:20260701T150000', 'DURATION:PT45M'], BERLIN))).toEqual({ start: '2026-07-01T13:00:00.000Z', end: '2026-07-01T13:45:00.000Z' });
    expect(eventTimes('not a calendar')).toBeUndefined();
  });

  it('reads a TZID without VTIMEZONE as busy reads do: its IANA zone, a Windows name (Outlook) mapped; an unknown zone is no report', () => {
    // W. Europe Standard Time is Europe/Berlin (CLDR windowsZones): 15:00 in December is 14:00 UTC.
    expect(eventTimes(vevent(['DTSTART;TZID=W. Europe Standard Time:20261201T150000', 'DTEND;TZID=W. Europe Standard Time:20261201T153000']))).toEqual({ start: '2026-12-01T14:00:00.000Z', end: '2026-12-01T14:30:00.000Z' });
    // America/New_York in July is UTC-4: 09:00 → 13:00 UTC; DURATION follows DTSTART's zone.
    expect(eventTimes(vevent(['DTSTART;TZID=America/New_York:20260701T090000', 'DURATION:PT1H']))).toEqual({ start: '2026-07-01T13:00:00.000Z', end: '2026-07-01T14:00:00.000Z' });
    expect(eventTimes(vevent(['DTSTART;TZID=Nowhere/Atlantis:20261201T150000', 'DTEND;TZID=Nowhere/Atlantis:20261201T153000']))).toBeUndefined();
  });

  it('same instants written another way, or a title edit, are no change; other times are a reschedule', () => {
    const r = record();
    expect(judge(r, { kind: 'present', ics: vevent(['SUMMARY:Renamed', 'DTSTART:20261201T140000Z', 'DTEND:20261201T143000Z']) }, 1e13)).toEqual({ kind: 'none' });
    expect(judge(r, { kind: 'present', ics: vevent(['DTSTART;TZID=Europe/Berlin:20261201T150000', 'DTEND;TZID=Europe/Berlin:20261201T153000'], BERLIN) }, 1e13)).toEqual({ kind: 'none' });
    expect(judge(r, { kind: 'present', ics: vevent(['DTSTART:20261201T140000Z', 'DTEND:20261201T150000Z']) }, 1e13)).toEqual({
      kind: 'rescheduled',
      start: '2026-12-01T14:00:00.000Z',
      end: '2026-12-01T15:00:00.000Z',
    });
  });

  it('a reschedule already reported is the new reference; an older one is overwritten by a later write', () => {
    const moved = record({ hostChange: { kind: 'rescheduled', seq: 2, start: '2026-12-02T09:00:00.000Z', end: '2026-12-02T09:30:00.000Z', reportedAt: 'x' } });
    expect(judge(moved, { kind: 'present', ics: vevent(['DTSTART:20261202T090000Z', 'DTEND:20261202T093000Z']) }, 1e13)).toEqual({ kind: 'none' });
    const rewritten = record({ seq: 3, appliedSeq: 3, hostChange: { kind: 'rescheduled', seq: 2, start: '2026-12-02T09:00:00.000Z', end: '2026-12-02T09:30:00.000Z', reportedAt: 'x' } });
    expect(judge(rewritten, { kind: 'present', ics: vevent(['DTSTART:20261201T140000Z', 'DTEND:20261201T143000Z']) }, 1e13)).toEqual({ kind: 'none' });
  });

  it('a missing event is confirmed before it counts, and not even that moments after it was written', () => {
    expect(judge(record({ appliedAt: 1_000 }), { kind: 'missing' }, 1_000 + 60_000)).toEqual({ kind: 'confirm_missing' });
    expect(judge(record({ appliedAt: 1_000 }), { kind: 'missing' }, 1_000 + 5_000)).toEqual({ kind: 'wait' });
  });

  it('watches only what the current connection wrote and is not pending, nor already deleted by the host', () => {
    const rs = [
      record({ bookingId: 'ok' }),
      record({ bookingId: 'pending', seq: 3 }),
      record({ bookingId: 'cancelled', desired: 'cancelled', appliedState: 'deleted' }),
      record({ bookingId: 'old-connection', generation: 'g0' }),
      record({ bookingId: 'written-by-an-earlier-connection', appliedGeneration: 'g0' }),
      record({ bookingId: 'host-deleted', hostChange: { kind: 'deleted', seq: 2, reportedAt: 'x' } }),
      record({ bookingId: 'recreated', seq: 3, appliedSeq: 3, hostChange: { kind: 'deleted', seq: 2, reportedAt: 'x' } }),
    ];
    expect(watched(rs, 'g').map((r) => r.bookingId)).toEqual(['ok', 'recreated']);
  });

  it('a change the host made is never pending again at its sequence (no fighting the host); a higher one is', () => {
    const hc = { kind: 'deleted' as const, seq: 2, reportedAt: 'x' };
    expect(isPending(record({ appliedSeq: 1, hostChange: hc }))).toBe(false);
    expect(isPending(record({ seq: 3, hostChange: hc }))).toBe(true);
  });
});
