import { afterEach, expect, it, vi } from 'vitest';
import { createLogger } from '../../shared/logger.js';

afterEach(() => vi.restoreAllMocks());

it('redacts secret-looking keys at any depth, keeps the rest', () => {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  createLogger({ serviceName: 't' }).info('attempt', {
    appSpecificPassword: 'abcd-efgh-ijkl-mnop',
    nested: { Authorization: 'Basic YWxpY2U6YWJjZA==', ciphertext: 'AQID', accountId: 'acct-1' },
  });
  const out = lines.join('');
  expect(out).not.toContain('abcd-efgh-ijkl-mnop');
  expect(out).not.toContain('YWxpY2U6YWJjZA==');
  expect(out).not.toContain('AQID');
  const entry = JSON.parse(out.trim().split('\n').pop()!);
  expect(entry).toMatchObject({ message: 'attempt', appSpecificPassword: '[redacted]', nested: { Authorization: '[redacted]', ciphertext: '[redacted]', accountId: 'acct-1' } });
});
