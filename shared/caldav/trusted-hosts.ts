import { isIP } from 'node:net';

/**
 * The one rule for where the Apple ID and app-specific password may go (contract §1, §3
 * `CALDAV_ALLOWED_HOSTS`): only to a host on the allow-list, only over https — plain http
 * only to a loopback address (local servers, tests). Every CalDAV request goes through
 * `davFetch`, which checks its URL here before anything is sent; redirects are never followed
 * by fetch (discovery follows a same-host redirect itself, after checking it here).
 */

/** Hosts that may receive the credentials: exact names, or `*.example.com` for any subdomain. */
export type AllowedHosts = readonly string[];

const ICLOUD_HOSTS: AllowedHosts = ['caldav.icloud.com', '*.icloud.com'];

/** The contract's default: iCloud's hosts for an iCloud server URL, else that URL's host only. */
export function defaultAllowedHosts(serverUrl: string): AllowedHosts {
  const host = hostnameOf(new URL(serverUrl));
  return host === 'icloud.com' || host.endsWith('.icloud.com') ? ICLOUD_HOSTS : [host];
}

/** `CALDAV_ALLOWED_HOSTS` as a list: comma-separated, trimmed, lower-case; undefined when it holds none. */
export function parseAllowedHosts(value: string | undefined): AllowedHosts | undefined {
  const hosts = (value ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase().replace(/\.$/, ''))
    .filter(Boolean);
  return hosts.length ? hosts : undefined;
}

/** Why a pattern is not usable (undefined when it is): a bare `*`, `*.com`-like or a URL are refused. */
export function invalidHostPattern(pattern: string): string | undefined {
  const name = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  if (name.includes('*')) return `"${pattern}": a wildcard is only allowed as a leading "*."`;
  if (!/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/.test(name)) return `"${pattern}" is not a host name`;
  if (pattern.startsWith('*.') && !name.includes('.')) return `"${pattern}" is too broad: name at least a second-level domain`;
  return undefined;
}

/** Host name without IPv6 brackets, lower-case, without a trailing dot. */
const hostnameOf = (url: URL) => url.hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** Whether `host` matches one of the patterns (`*.icloud.com` matches `p01-caldav.icloud.com`, not `icloud.com`). */
export function hostAllowed(host: string, allowed: AllowedHosts): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return allowed.some((pattern) => {
    const p = pattern.toLowerCase().replace(/^\[|\]$/g, '');
    return p.startsWith('*.') ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p;
  });
}

/**
 * Why the credentials must not be sent to `url` (undefined when they may): a host not on the
 * list, a scheme other than https (http only on loopback), or user info in the URL.
 */
export function untrustedReason(url: string | URL, allowed: AllowedHosts): string | undefined {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return 'not a URL';
  }
  const host = hostnameOf(u);
  if (u.username || u.password) return 'a URL with user info';
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopback(host))) return `${u.protocol.replace(':', '')} to ${host}`;
  if (!hostAllowed(host, allowed)) return `host ${host} is not in CALDAV_ALLOWED_HOSTS`;
  return undefined;
}
