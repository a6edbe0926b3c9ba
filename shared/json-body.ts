import { invalidRequest } from './errors.js';

/**
 * A request body as a JSON object (API Gateway may hand it base64-encoded): 400
 * `invalid_request` with `fields.body` when it is too large, not JSON or not an object. The
 * messages never echo the body.
 */
export function parseJsonObject(body: string | undefined, isBase64Encoded: boolean, maxBytes: number): Record<string, unknown> {
  const text = body === undefined ? '' : isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw invalidRequest({ body: `must be at most ${maxBytes} bytes` });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw invalidRequest({ body: 'must be a JSON object' });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalidRequest({ body: 'must be a JSON object' });
  return data as Record<string, unknown>;
}
