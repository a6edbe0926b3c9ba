import { describe, expect, it } from 'vitest';
import { basicAuth, CaldavError, classifyStatus, davFetch, errorForResponse, parseRetryAfter } from '../../shared/caldav/transport.js';

describe('classifyStatus', () => {
  it.each([200, 201, 204, 207, 299])('%i is success (undefined)', (status) => {
    expect(classifyStatus(status)).toBeUndefined();
  });

  it.each([
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not_found'],
    [409, 'not_found'],
    [410, 'not_found'],
    [412, 'precondition_failed'],
    [301, 'moved'],
    [302, 'moved'],
    [307, 'moved'],
    [308, 'moved'],
    [408, 'transient'],
    [429, 'transient'],
    [500, 'transient'],
    [502, 'transient'],
    [503, 'transient'],
    [504, 'transient'],
    [507, 'transient'],
    [400, 'unexpected'],
    [405, 'unexpected'],
    [415, 'unexpected'],
    [100, 'unexpected'],
    [0, 'unexpected'],
  ] as const)('%i → %s', (status, failure) => {
    expect(classifyStatus(status)).toBe(failure);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-24T10:00:00.000Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(' 7 ', now)).toBe(7);
    expect(parseRetryAfter('0', now)).toBe(0);
  });

  it('reads an HTTP-date as seconds from now, rounded up', () => {
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:02:00 GMT', now)).toBe(120);
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:00 GMT', now + 500)).toBe(0);
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:01 GMT', now + 500)).toBe(1); // 0.5 s → 1
  });

  it('never answers a negative wait for a date in the past', () => {
    expect(parseRetryAfter('Tue, 24 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });

  it('ignores a missing or unreadable value', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('120s', now)).toBeUndefined();
    expect(parseRetryAfter('in two minutes', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('2026-11-24', now)).toBeUndefined();
  });
});

describe('errorForResponse', () => {
  it('carries the failure, the status and Retry-After', () => {
    const err = errorForResponse(new Response('busy', { status: 503, headers: { 'retry-after': '120' } }), 'PUT x');
    expect(err).toBeInstanceOf(CaldavError);
    expect(err).toMatchObject({ failure: 'transient', status: 503, retryAfterSeconds: 120, message: 'PUT x: HTTP 503' });
    expect(errorForResponse(new Response(null, { status: 401 }), 'PROPFIND')).toMatchObject({ failure: 'unauthorized', retryAfterSeconds: undefined });
  });
});

describe('basicAuth', () => {
  it('sends Basic credentials up front', () => {
    const h = basicAuth({ username: 'ann@icloud.com', password: 'abcd-efgh-ijkl-mnop' });
    expect(h.authorization).toBe(`Basic ${Buffer.from('ann@icloud.com:abcd-efgh-ijkl-mnop').toString('base64')}`);
  });
});

const LOCAL = ['127.0.0.1'];

describe('davFetch', () => {
  it('turns a network error into a transient CaldavError without the underlying message', async () => {
    const f = davFetch({ timeoutMs: 1000, allowedHosts: LOCAL, fetch: async () => Promise.reject(new TypeError('fetch failed: secret-bearing detail')) });
    const err = await f('http://127.0.0.1:1/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaldavError);
    expect(err).toMatchObject({ failure: 'transient', message: 'CalDAV request network error' });
  });

  it('aborts a request that takes longer than the timeout (transient)', async () => {
    const never: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error)));
    const err = await davFetch({ timeoutMs: 20, allowedHosts: LOCAL, fetch: never })('http://127.0.0.1/').catch((e: unknown) => e);
    expect(err).toMatchObject({ failure: 'transient', message: 'CalDAV request timed out after 20 ms' });
  });

  it('passes responses through, whatever their status', async () => {
    const f = davFetch({ timeoutMs: 1000, allowedHosts: LOCAL, fetch: async () => new Response('x', { status: 503 }) });
    expect((await f('http://127.0.0.1/')).status).toBe(503);
  });
});
