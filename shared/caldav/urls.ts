/**
 * Whether two URLs name the same collection (calendar, home): equal once parsed, a trailing
 * slash or not. A URL that does not parse names nothing.
 */
export function sameCollectionUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href.replace(/\/?$/, '/') === new URL(b).href.replace(/\/?$/, '/');
  } catch {
    return false;
  }
}

/** A URL's path, percent-decoded (servers spell the same href either way); the trailing slash as given. */
export function pathOf(url: string): string {
  const p = new URL(url).pathname;
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/**
 * Whether two URLs name the same resource on whatever host: iCloud moves an account to
 * another partition host and keeps the paths. A trailing slash is ignored; a URL that does
 * not parse names nothing.
 */
export function samePath(a: string, b: string): boolean {
  try {
    return pathOf(a).replace(/\/$/, '') === pathOf(b).replace(/\/$/, '');
  } catch {
    return false;
  }
}
