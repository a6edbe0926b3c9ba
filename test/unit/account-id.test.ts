import { describe, expect, it, vi } from 'vitest';
import { DYNAMODB_MAX_PARTITION_KEY_BYTES, DYNAMODB_MAX_SORT_KEY_BYTES, isValidAccountId, MAX_ACCOUNT_ID_LENGTH } from '../../shared/account-id.js';
import { accountKey, ATTEMPTS_SK, BOOKING_SK_PREFIX, CONNECTION_SK } from '../../shared/store/table.js';
import { httpRoute, type HttpEvent } from '../../functions/lib/http.js';
import { createLogger } from '../../shared/logger.js';
import { memoryOutput } from '../harness/log.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
/** The widest strings of a given UTF-16 length: 3-byte BMP characters, 4-byte astral ones, lone surrogates. */
const widest = (n: number) => ['ह'.repeat(n), '😀'.repeat(n / 2), '\ud800'.repeat(n), 'x'.repeat(n)];

describe('account ids', () => {
  it('are 1..256 characters', () => {
    expect(MAX_ACCOUNT_ID_LENGTH).toBe(256);
    expect(isValidAccountId('a')).toBe(true);
    expect(isValidAccountId('a'.repeat(256))).toBe(true);
    for (const bad of ['', 'a'.repeat(257), 'a'.repeat(5000), 42, undefined, null, ['a']]) expect(isValidAccountId(bad)).toBe(false);
  });

  it("keep every key within DynamoDB's limits, whatever the characters", () => {
    for (const id of widest(MAX_ACCOUNT_ID_LENGTH)) {
      expect(isValidAccountId(id)).toBe(true);
      expect(bytes(accountKey(id))).toBeLessThanOrEqual(DYNAMODB_MAX_PARTITION_KEY_BYTES);
    }
    // Booking ids are limited to 256 characters by the booking-event schema.
    for (const bookingId of widest(256)) expect(bytes(`${BOOKING_SK_PREFIX}${bookingId}`)).toBeLessThanOrEqual(DYNAMODB_MAX_SORT_KEY_BYTES);
    for (const sk of [CONNECTION_SK, ATTEMPTS_SK]) expect(bytes(sk)).toBeLessThan(DYNAMODB_MAX_SORT_KEY_BYTES);
  });

  it('a validly signed sub over 256 characters gets the 401 body and never reaches the route', async () => {
    const output = memoryOutput();
const log = createLogger({ serviceName: 't', stream: output.stream });
    const route = vi.fn(async () => ({ statusCode: 200 }));
    const handler = httpRoute(log, route);
    const event = (sub: string) =>
      ({ routeKey: 'GET /integrations/apple-calendar', requestContext: { requestId: 'r', authorizer: { jwt: { claims: { sub }, scopes: [] } } } }) as unknown as HttpEvent;
    for (const sub of ['x'.repeat(257), 'x'.repeat(5000), '😀'.repeat(129)]) {
      expect(await handler(event(sub), {} as never)).toMatchObject({ statusCode: 401, body: JSON.stringify({ message: 'Unauthorized' }) });
    }
    expect(route).not.toHaveBeenCalled();
    expect(await handler(event('x'.repeat(256)), {} as never)).toEqual({ statusCode: 200 });
  });
});
