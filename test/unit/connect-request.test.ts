import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, parseConnectRequest } from '../../shared/connection/connect-request.js';
import { DomainError } from '../../shared/errors.js';

const GOOD = { appleId: 'ann@icloud.com', appSpecificPassword: 'abcd-efgh-ijkl-mnop' };

/** Runs the parser and returns the invalid_request it throws (fails the test if it does not throw one). */
function rejection(body: string | undefined, isBase64Encoded = false): DomainError {
  try {
    parseConnectRequest(body, isBase64Encoded);
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    const e = err as DomainError;
    expect(e.code).toBe('invalid_request');
    expect(e.fields).toBeTypeOf('object');
    return e;
  }
  throw new Error(`expected ${JSON.stringify(body)} to be rejected`);
}

describe('parseConnectRequest: valid bodies', () => {
  it('returns the Apple ID and the password in Apple\'s form', () => {
    expect(parseConnectRequest(JSON.stringify(GOOD))).toEqual(GOOD);
  });

  it('normalises a pasted password (spaces, upper case) and trims the Apple ID', () => {
    const body = JSON.stringify({ appleId: '  ann@icloud.com\u00a0', appSpecificPassword: ' ABCD EFGH ijkl MNOP ' });
    expect(parseConnectRequest(body)).toEqual(GOOD);
  });

  it('accepts Apple IDs on any domain', () => {
    for (const appleId of ['ann@gmail.com', 'ann.o\'neil+cal@example.co.uk', 'x@xn--exmple-cua.com']) {
      expect(parseConnectRequest(JSON.stringify({ ...GOOD, appleId })).appleId).toBe(appleId);
    }
  });

  it('ignores fields it does not know, including ones naming an account', () => {
    const body = JSON.stringify({ ...GOOD, userId: 'someone-else', accountId: 'someone-else', sub: 'x', status: 'active' });
    const out = parseConnectRequest(body);
    expect(out).toEqual(GOOD);
    expect(Object.keys(out).sort()).toEqual(['appSpecificPassword', 'appleId']);
  });

  it('decodes a base64-encoded body (API Gateway sets isBase64Encoded for some content types)', () => {
    const body = Buffer.from(JSON.stringify({ ...GOOD, appSpecificPassword: 'ABCD-EFGH-IJKL-MNOP' })).toString('base64');
    expect(parseConnectRequest(body, true)).toEqual(GOOD);
  });

  it('accepts a body just under the size limit, counted in bytes', () => {
    const base = JSON.stringify({ ...GOOD, pad: '' });
    const body = JSON.stringify({ ...GOOD, pad: 'e'.repeat(MAX_BODY_BYTES - Buffer.byteLength(base)) });
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
    expect(parseConnectRequest(body)).toEqual(GOOD);
  });
});

describe('parseConnectRequest: invalid bodies are invalid_request with fields', () => {
  it.each([
    ['no body at all', undefined],
    ['an empty body', ''],
    ['malformed JSON', '{"appleId": "ann@icloud.com", '],
    ['a form-encoded body', 'appleId=ann%40icloud.com&appSpecificPassword=abcd-efgh-ijkl-mnop'],
    ['JSON null', 'null'],
    ['a JSON string', '"ann@icloud.com"'],
    ['a JSON number', '42'],
    ['a JSON boolean', 'true'],
    ['a JSON array', JSON.stringify([GOOD])],
    ['an empty array', '[]'],
  ])('%s → fields.body', (_what, body) => {
    const e = rejection(body);
    expect(e.fields).toEqual({ body: 'must be a JSON object' });
  });

  it('base64 that does not decode to JSON → fields.body', () => {
    expect(rejection(Buffer.from('not json at all').toString('base64'), true).fields).toEqual({ body: 'must be a JSON object' });
    // A plain JSON body wrongly flagged as base64 decodes to garbage: still a 400, not a crash.
    expect(rejection(JSON.stringify(GOOD), true).fields).toEqual({ body: 'must be a JSON object' });
  });

  it('an oversized body → fields.body, measured in bytes (multi-byte characters count for more)', () => {
    const ascii = JSON.stringify({ ...GOOD, pad: 'e'.repeat(MAX_BODY_BYTES) });
    expect(rejection(ascii).fields).toEqual({ body: `must be at most ${MAX_BODY_BYTES} bytes` });
    // 1,400 euro signs: fewer characters than the limit, more bytes than it.
    const unicode = JSON.stringify({ ...GOOD, pad: '€'.repeat(1400) });
    expect(unicode.length).toBeLessThan(MAX_BODY_BYTES);
    expect(rejection(unicode).fields).toEqual({ body: `must be at most ${MAX_BODY_BYTES} bytes` });
    // Also when it arrives base64-encoded.
    expect(rejection(Buffer.from(ascii).toString('base64'), true).fields).toEqual({ body: `must be at most ${MAX_BODY_BYTES} bytes` });
  });

  it('missing fields are each reported as required', () => {
    expect(rejection('{}').fields).toEqual({ appleId: 'is required', appSpecificPassword: 'is required' });
    expect(rejection(JSON.stringify({ appleId: GOOD.appleId })).fields).toEqual({ appSpecificPassword: 'is required' });
    expect(rejection(JSON.stringify({ appSpecificPassword: GOOD.appSpecificPassword })).fields).toEqual({ appleId: 'is required' });
  });

  it.each([
    ['numbers', 42, 1234567890123456],
    ['null', null, null],
    ['booleans', true, false],
    ['arrays', [GOOD.appleId], [GOOD.appSpecificPassword]],
    ['objects', { email: GOOD.appleId }, { value: GOOD.appSpecificPassword }],
  ])('wrong types (%s) → "must be a string" for each field', (_what, appleId, appSpecificPassword) => {
    expect(rejection(JSON.stringify({ appleId, appSpecificPassword })).fields).toEqual({
      appleId: 'must be a string',
      appSpecificPassword: 'must be a string',
    });
  });

  it('an Apple ID that is not an e-mail address', () => {
    for (const appleId of ['', 'ann', 'ann@', '@icloud.com', 'ann@icloud', 'ann icloud.com', 'ann@@icloud.com']) {
      expect(rejection(JSON.stringify({ ...GOOD, appleId })).fields).toEqual({ appleId: 'must be an e-mail address' });
    }
  });

  it('an Apple ID longer than an e-mail address can be', () => {
    const appleId = `${'a'.repeat(64)}@${'b'.repeat(186)}.com`; // 255 characters
    expect(appleId.length).toBeGreaterThan(254);
    expect(rejection(JSON.stringify({ ...GOOD, appleId })).fields).toEqual({ appleId: 'is too long' });
  });

  it.each([
    ['too short', 'abcd-efgh-ijkl-mno'],
    ['too long', 'abcd-efgh-ijkl-mnopq'],
    ['digits', 'abcd-efgh-ijkl-mn0p'],
    ['punctuation', 'abcd-efgh-ijkl-mno!'],
    ['non-Latin letters', 'абвг-efgh-ijkl-mnop'],
    ['accented letters', 'abcd-efgh-ijkl-mnoé'],
    ['an emoji', 'abcd-efgh-ijkl-mno🔑'],
    ['an Apple ID password', 'Sup3r$ecret'],
    ['an empty string', ''],
    ['a very long string', 'x'.repeat(500)],
  ])('a password with %s → fields.appSpecificPassword', (_what, appSpecificPassword) => {
    expect(rejection(JSON.stringify({ ...GOOD, appSpecificPassword })).fields).toEqual({
      appSpecificPassword: 'must be 16 letters, like xxxx-xxxx-xxxx-xxxx',
    });
  });

  it('reports both fields when both are wrong', () => {
    expect(rejection(JSON.stringify({ appleId: 'nope', appSpecificPassword: 'short' })).fields).toEqual({
      appleId: 'must be an e-mail address',
      appSpecificPassword: 'must be 16 letters, like xxxx-xxxx-xxxx-xxxx',
    });
  });

  it('never echoes the submitted password (or any submitted value) in the message or the fields', () => {
    const secrets = [
      'abcd-efgh-ijkl-mno', // almost right
      'ABCD EFGH IJKL MNOPQ',
      'Sup3r$ecretAppleIdPassword',
      'qwerty'.repeat(20),
      'abcd-efgh-ijkl-mno1',
    ];
    for (const appSpecificPassword of secrets) {
      for (const appleId of [GOOD.appleId, 'not-an-email', 42]) {
        const e = rejection(JSON.stringify({ appleId, appSpecificPassword }));
        const shown = JSON.stringify({ message: e.message, fields: e.fields });
        expect(shown).not.toContain(appSpecificPassword);
        expect(shown.toLowerCase()).not.toContain(appSpecificPassword.toLowerCase().replace(/[\s-]/g, '').slice(0, 8));
        expect(shown).not.toContain('not-an-email');
      }
    }
    // A valid password with an invalid Apple ID: the password is not echoed either.
    const e = rejection(JSON.stringify({ appleId: 'nope', appSpecificPassword: 'QRST-UVWX-YZAB-CDEF' }));
    expect(JSON.stringify({ message: e.message, fields: e.fields }).toLowerCase()).not.toMatch(/qrst|uvwx|yzab|cdef/);
  });
});
