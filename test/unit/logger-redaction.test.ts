import { expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';
import { memoryOutput } from '../harness/log.js';

it('redacts secret-looking keys at any depth, keeps the rest', () => {
  const output = memoryOutput();
  createLogger({ serviceName: 't', stream: output.stream }).info('attempt', {
    appSpecificPassword: 'abcd-efgh-ijkl-mnop',
    nested: { Authorization: 'Basic YWxpY2U6YWJjZA==', ciphertext: 'AQID', accountId: 'acct-1' },
  });
  const out = output.text();
  expect(out).not.toContain('abcd-efgh-ijkl-mnop');
  expect(out).not.toContain('YWxpY2U6YWJjZA==');
  expect(out).not.toContain('AQID');
  const entry = JSON.parse(out.trim().split('\n').pop()!);
  expect(entry).toMatchObject({ message: 'attempt', appSpecificPassword: '[redacted]', nested: { Authorization: '[redacted]', ciphertext: '[redacted]', accountId: 'acct-1' } });
});
