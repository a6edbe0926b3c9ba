import * as z from 'zod/mini';
import { invalidRequest } from '../errors.js';
import { parseJsonObject } from '../json-body.js';
import { normaliseAppSpecificPassword } from './app-specific-password.js';
import type { ConnectInput } from './connect.js';

/** Bodies are a few hundred bytes; anything much larger is not a connect request. */
export const MAX_BODY_BYTES = 4096;

const PASSWORD_FORM = 'must be 16 letters, like xxxx-xxxx-xxxx-xxxx';
const requiredString = () => z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') });

const schema = z.object({
  appleId: z.pipe(requiredString().check(z.trim(), z.maxLength(254, 'is too long')), z.email({ error: 'must be an e-mail address' })),
  appSpecificPassword: z.pipe(
    requiredString().check(z.maxLength(64, PASSWORD_FORM)),
    z.transform((v: string, ctx) => {
      const normalised = normaliseAppSpecificPassword(v);
      if (!normalised) {
        ctx.issues.push({ code: 'custom', message: PASSWORD_FORM, input: '' });
        return z.NEVER;
      }
      return normalised;
    }),
  ),
});

/**
 * Parses and validates the connect body. Every problem is reported by field; the messages
 * never echo the submitted values (the password must not come back in a response).
 */
export function parseConnectRequest(body: string | undefined, isBase64Encoded = false): ConnectInput {
  const data = parseJsonObject(body, isBase64Encoded, MAX_BODY_BYTES);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const fields: Record<string, string> = {};
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? 'body');
      fields[field] ??= issue.message;
    }
    throw invalidRequest(fields);
  }
  return parsed.data;
}
