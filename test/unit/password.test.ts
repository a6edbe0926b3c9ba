import { describe, expect, it } from 'vitest';
import { normaliseAppSpecificPassword } from '../../shared/connection/app-specific-password.js';

describe('normaliseAppSpecificPassword', () => {
  it("keeps Apple's own form unchanged", () => {
    expect(normaliseAppSpecificPassword('abcd-efgh-ijkl-mnop')).toBe('abcd-efgh-ijkl-mnop');
  });

  it.each([
    ['upper case', 'ABCD-EFGH-IJKL-MNOP'],
    ['mixed case', 'AbCd-eFgH-iJkL-MnOp'],
    ['spaces instead of hyphens', 'abcd efgh ijkl mnop'],
    ['pasted with surrounding whitespace', '  abcd-efgh-ijkl-mnop\n'],
    ['tabs and non-breaking-free whitespace', 'abcd\tefgh\tijkl\tmnop'],
    ['no hyphens at all', 'abcdefghijklmnop'],
    ['some hyphens missing', 'abcdefgh-ijkl-mnop'],
    ['hyphens in odd places', 'ab-cdef-ghij-klmn-op'],
    ['spaces around hyphens', 'abcd - efgh - ijkl - mnop'],
    ['upper case without separators', 'ABCDEFGHIJKLMNOP'],
  ])('normalises %s to lowercase groups of four', (_what, input) => {
    expect(normaliseAppSpecificPassword(input)).toBe('abcd-efgh-ijkl-mnop');
  });

  it.each([
    ['15 letters', 'abcd-efgh-ijkl-mno'],
    ['17 letters', 'abcd-efgh-ijkl-mnopq'],
    ['empty', ''],
    ['only separators', '---- ----'],
    ['a digit', 'abcd-efgh-ijkl-mno1'],
    ['punctuation', 'abcd-efgh-ijkl-mno!'],
    ['an underscore as separator', 'abcd_efgh_ijkl_mnop'],
    ['a dot as separator', 'abcd.efgh.ijkl.mnop'],
    ['accented letters', 'abcd-efgh-ijkl-mnoé'],
    ['non-Latin letters', 'абвг-efgh-ijkl-mnop'],
    ['a full-width letter', 'abcd-efgh-ijkl-mnoｐ'],
    ['an Apple ID password', 'MyPassw0rd!'],
  ])('rejects %s', (_what, input) => {
    expect(normaliseAppSpecificPassword(input)).toBeUndefined();
  });
});
