import { describe, expect, it } from 'vitest';
import { readConfig } from '../../shared/config.js';
import { davFetch, CaldavError } from '../../shared/caldav/transport.js';
import { defaultAllowedHosts, hostAllowed, invalidHostPattern, isLoopback, parseAllowedHosts, untrustedReason } from '../../shared/caldav/trusted-hosts.js';

const ICLOUD = ['caldav.icloud.com', '*.icloud.com'];

describe('untrustedReason', () => {
  it.each([
    'https://caldav.icloud.com/',
    'https://p01-caldav.icloud.com:443/123/calendars/home/',
    'https://P07-CALDAV.iCloud.com./123/',
  ])('%s may receive the credentials', (url) => {
    expect(untrustedReason(url, ICLOUD)).toBeUndefined();
  });

  it.each([
    ['http://p01-caldav.icloud.com/123/', /http to p01-caldav.icloud.com/],
    ['https://icloud.com.evil.example/', /not in CALDAV_ALLOWED_HOSTS/],
    ['https://evilicloud.com/', /not in CALDAV_ALLOWED_HOSTS/],
    ['https://icloud.com/', /not in CALDAV_ALLOWED_HOSTS/],
    ['https://caldav.icloud.com@evil.example/', /not in CALDAV_ALLOWED_HOSTS|user info/],
    ['https://user:pw@caldav.icloud.com/', /user info/],
    ['ftp://caldav.icloud.com/', /ftp/],
    ['javascript:alert(1)', /javascript/],
    ['/relative', /not a URL/],
    ['https://127.0.0.1/', /not in CALDAV_ALLOWED_HOSTS/],
  ])('%s is refused (%s)', (url, why) => {
    expect(untrustedReason(url, ICLOUD)).toMatch(why);
  });

  it('allows plain http on loopback only, and only to listed hosts', () => {
    expect(untrustedReason('http://127.0.0.1:5232/', ['127.0.0.1'])).toBeUndefined();
    expect(untrustedReason('http://127.0.0.2:5232/', ['127.0.0.1'])).toMatch(/127.0.0.2 is not in/);
    expect(untrustedReason('http://[::1]:5232/', ['::1'])).toBeUndefined();
    expect(untrustedReason('http://localhost:5232/', ['localhost'])).toBeUndefined();
    expect(untrustedReason('http://caldav.example.com/', ['caldav.example.com'])).toMatch(/^http to/);
    expect(untrustedReason('https://caldav.example.com/', ['caldav.example.com'])).toBeUndefined();
  });
});

describe('host patterns', () => {
  it('matches a wildcard on subdomains only', () => {
    expect(hostAllowed('a.b.icloud.com', ['*.icloud.com'])).toBe(true);
    expect(hostAllowed('icloud.com', ['*.icloud.com'])).toBe(false);
    expect(hostAllowed('xicloud.com', ['*.icloud.com'])).toBe(false);
  });

  it('refuses patterns that are too broad or not host names', () => {
    expect(invalidHostPattern('*')).toBeDefined();
    expect(invalidHostPattern('*.com')).toMatch(/too broad/);
    expect(invalidHostPattern('a.*.com')).toMatch(/wildcard/);
    expect(invalidHostPattern('https://caldav.icloud.com')).toMatch(/not a host name/);
    expect(invalidHostPattern('*.icloud.com')).toBeUndefined();
    expect(invalidHostPattern('127.0.0.1')).toBeUndefined();
  });

  it('knows loopback', () => {
    for (const h of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['10.0.0.1', '128.0.0.1', 'example.com', '::2']) expect(isLoopback(h), h).toBe(false);
  });
});

describe('CALDAV_ALLOWED_HOSTS (config)', () => {
  it("defaults to iCloud's hosts for iCloud, else the server URL's host", () => {
    expect(readConfig({ TABLE_NAME: 't' }).CALDAV_ALLOWED_HOSTS).toEqual(ICLOUD);
    expect(readConfig({ TABLE_NAME: 't', CALDAV_SERVER_URL: 'http://127.0.0.1:5232' }).CALDAV_ALLOWED_HOSTS).toEqual(['127.0.0.1']);
    expect(defaultAllowedHosts('https://dav.example.org/dav/')).toEqual(['dav.example.org']);
  });

  it('reads a comma-separated list', () => {
    expect(readConfig({ TABLE_NAME: 't', CALDAV_ALLOWED_HOSTS: ' dav.example.org , *.Example.NET ' }).CALDAV_ALLOWED_HOSTS).toEqual(['dav.example.org', '*.example.net']);
    expect(parseAllowedHosts(' , ')).toBeUndefined();
  });

  it('names the variable when a pattern is unusable', () => {
    expect(() => readConfig({ TABLE_NAME: 't', CALDAV_ALLOWED_HOSTS: '*' })).toThrow(/CALDAV_ALLOWED_HOSTS/);
    expect(() => readConfig({ TABLE_NAME: 't', CALDAV_ALLOWED_HOSTS: '*.com' })).toThrow(/CALDAV_ALLOWED_HOSTS/);
  });
});

describe('davFetch guard', () => {
  it('refuses an untrusted URL before anything is sent, and never lets fetch follow a redirect', async () => {
    const seen: Array<{ url: string; redirect?: RequestRedirect }> = [];
    const f = davFetch({ timeoutMs: 1000, allowedHosts: ICLOUD, fetch: async (input, init) => (seen.push({ url: String(input), redirect: init?.redirect }), new Response('')) });
    const err = await f('https://evil.example/', { headers: { authorization: 'Basic x' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaldavError);
    expect(err).toMatchObject({ failure: 'untrusted' });
    await f('https://p01-caldav.icloud.com/x', { redirect: 'follow' });
    expect(seen).toEqual([{ url: 'https://p01-caldav.icloud.com/x', redirect: 'manual' }]);
  });

  it('cuts each timeout to the deadline and starts nothing after it', async () => {
    const never: typeof fetch = (_i, init) => new Promise((_r, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error)));
    const t0 = Date.now();
    const err = await davFetch({ timeoutMs: 10_000, allowedHosts: ['127.0.0.1'], deadline: Date.now() + 50, fetch: never })('http://127.0.0.1/').catch((e: unknown) => e);
    expect(err).toMatchObject({ failure: 'transient' });
    expect(Date.now() - t0).toBeLessThan(1000);
    const late = await davFetch({ timeoutMs: 10_000, allowedHosts: ['127.0.0.1'], deadline: Date.now() - 1, fetch: never })('http://127.0.0.1/').catch((e: unknown) => e);
    expect(late).toMatchObject({ failure: 'transient', message: 'CalDAV request not started: out of time' });
  });
});
