import { describe, expect, it } from 'vitest';
import { MAX_REDRIVE_BOOKINGS, parseSyncMessage, redriveMessages } from '../../shared/sync/sync-message.js';
import { bookingEvent } from '../harness/bookings.js';

describe('queue messages: booking events and the connector’s own', () => {
  it('a booking event is parsed as before (contract §2)', () => {
    const parsed = parseSyncMessage(JSON.stringify(bookingEvent('confirmed', 'acct-1', 'bk_1', 0)));
    expect(parsed).toMatchObject({ ok: true, kind: 'booking', event: { type: 'booking.confirmed', userId: 'acct-1' } });
  });

  it('a re-drive names the account, the connection generation and the bookings', () => {
    const [message] = redriveMessages('acct-1', 'gen-1', ['bk_1', 'bk_2']);
    expect(parseSyncMessage(JSON.stringify(message))).toEqual({ ok: true, kind: 'internal', message: { type: 'connector.redrive', userId: 'acct-1', generation: 'gen-1', bookingIds: ['bk_1', 'bk_2'] } });
  });

  it('splits many bookings over several re-drives', () => {
    const ids = Array.from({ length: MAX_REDRIVE_BOOKINGS * 2 + 1 }, (_, i) => `bk_${i}`);
    const messages = redriveMessages('acct-1', 'gen-1', ids);
    expect(messages.map((m) => m.bookingIds.length)).toEqual([MAX_REDRIVE_BOOKINGS, MAX_REDRIVE_BOOKINGS, 1]);
    expect(messages.flatMap((m) => m.bookingIds)).toEqual(ids);
  });

  it('an internal message of the wrong shape, or of an unknown type, is invalid (the dead-letter queue)', () => {
    expect(parseSyncMessage(JSON.stringify({ type: 'connector.redrive', userId: 'acct-1', bookingIds: ['bk_1'] }))).toMatchObject({ ok: false, reason: expect.stringContaining('generation') });
    expect(parseSyncMessage(JSON.stringify({ type: 'connector.nope', userId: 'acct-1' }))).toMatchObject({ ok: false });
    expect(parseSyncMessage('not json')).toMatchObject({ ok: false, reason: 'body is not JSON' });
  });
});
