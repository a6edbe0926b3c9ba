/**
 * Domain errors carry the contract's error code; the HTTP glue maps them to a status.
 * Messages are written for people and never contain a secret.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_credentials'
  | 'no_calendar'
  | 'already_connected'
  | 'too_many_attempts'
  | 'calendar_unavailable'
  | 'not_connected'
  | 'reconnect_required'
  | 'forbidden'
  | 'internal_error';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: Record<string, string>,
    /** For too_many_attempts: seconds until another attempt is allowed. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalidRequest = (fields: Record<string, string>, message = 'The request is not valid.') =>
  new DomainError('invalid_request', message, fields);
