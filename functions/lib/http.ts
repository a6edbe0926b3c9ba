import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DomainError, type ErrorCode } from '../../shared/errors.js';
import type { Log } from '../../shared/logger.js';

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResult = APIGatewayProxyStructuredResultV2;

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_credentials: 422,
  no_calendar: 422,
  already_connected: 409,
  too_many_attempts: 429,
  calendar_unavailable: 502,
  not_connected: 404,
  reconnect_required: 409,
  forbidden: 403,
  internal_error: 500,
};

const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export const json = (statusCode: number, body?: unknown, headers: Record<string, string> = {}): HttpResult => ({
  statusCode,
  headers: { ...HEADERS, ...headers },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

export function errorResponse(err: DomainError): HttpResult {
  const error = { code: err.code, message: err.message, ...(err.fields ? { fields: err.fields } : {}) };
  const headers: Record<string, string> = err.retryAfterSeconds ? { 'retry-after': String(err.retryAfterSeconds) } : {};
  return json(STATUS[err.code], { error }, headers);
}

/** The caller's account: only ever the JWT `sub` the authorizer verified. */
export function accountIdOf(event: HttpEvent): string | undefined {
  const sub = event.requestContext?.authorizer?.jwt?.claims?.sub;
  return typeof sub === 'string' && sub.length > 0 ? sub : undefined;
}

/**
 * Thin glue for an HTTP route: the account from the token, one domain call, domain errors
 * mapped to the contract's error body. Unknown errors become a 500 with no detail; only the
 * error's name and message are logged (never the event, its body or headers).
 */
export function httpRoute(log: Log, route: (accountId: string, event: HttpEvent) => Promise<HttpResult>) {
  return middy<HttpEvent, HttpResult>()
    .before(async (request) => {
      log.appendKeys({ route: request.event.routeKey, requestId: request.event.requestContext?.requestId });
    })
    .after(async () => log.resetKeys())
    .handler(async (event) => {
      const accountId = accountIdOf(event);
      // A token the authorizer accepted but without a subject is no valid token here: same answer.
      if (!accountId) return json(401, { message: 'Unauthorized' });
      try {
        return await route(accountId, event);
      } catch (err) {
        if (err instanceof DomainError) return errorResponse(err);
        log.error('unhandled error', { errorName: (err as Error)?.name, error: (err as Error)?.message });
        return json(500, { error: { code: 'internal_error', message: 'Something went wrong on our side. Try again later.' } });
      } finally {
        log.resetKeys();
      }
    });
}
