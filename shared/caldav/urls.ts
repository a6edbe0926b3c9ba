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
