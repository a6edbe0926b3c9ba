/**
 * Apple shows app-specific passwords as four groups of four lowercase letters joined by
 * hyphens (`abcd-efgh-ijkl-mnop`). People paste them with spaces, without hyphens or in
 * upper case; all of that is accepted and normalised to Apple's form.
 * Returns undefined when the input is not 16 letters.
 */
export function normaliseAppSpecificPassword(input: string): string | undefined {
  const letters = input.replace(/[\s-]/g, '').toLowerCase();
  if (!/^[a-z]{16}$/.test(letters)) return undefined;
  return letters.match(/.{4}/g)!.join('-');
}
