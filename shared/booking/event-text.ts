/**
 * Text that goes into a calendar event (SUMMARY, DESCRIPTION, LOCATION): control characters
 * (NUL, escape, bell, C1 controls…) are removed — they are not valid in iCalendar TEXT and
 * some servers refuse the whole event for them — line breaks are kept as `\n`, and lone UTF-16
 * surrogates become U+FFFD. The booking is written; only the unprintable goes.
 */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function eventText(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.replace(LONE_SURROGATE, '\ufffd').replace(/\r\n?/g, '\n').replace(CONTROL, '');
}

/**
 * An e-mail address as a booking may carry it: internationalised addresses (RFC 6531,
 * `müller@example.de`, `用户@例子.广告`) included; no spaces, quotes, angle brackets or
 * control characters, and a domain of at least two labels.
 */
// Written without \p{…} classes so the JSON Schema pattern means the same without the `u` flag.
const NOT_IN_ADDRESS = '\\s@"<>()[\\]\\\\,;:\\u0000-\\u001f\\u007f';
export const EMAIL_ADDRESS = new RegExp(`^[^${NOT_IN_ADDRESS}]{1,64}@(?:[^${NOT_IN_ADDRESS}.]+\\.)+[^${NOT_IN_ADDRESS}.]{2,63}$`);
