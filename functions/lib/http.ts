import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { isValidAccountId } from '../../shared/account-id.js';
import { isServiceCaller } from '../../shared/busy/service-caller.js';
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
  return isValidAccountId(sub) ? sub : undefined;
}

type RoutedEvent = { routeKey: string; requestContext?: { requestId?: string } };

/** The route and API Gateway's request id on every log line of the request (Powertools resets them after). */
const routeLogKeys = <E extends RoutedEvent>(log: Log): MiddlewareObj<E, HttpResult> => ({
  before: async ({ event }) => log.appendKeys({ route: event.routeKey, requestId: event.requestContext?.requestId }),
});

/**
 * Domain errors become the contract's error body; anything else a 500 with no detail. Only
 * the error's name and message are logged (never the event, its body or headers).
 */
const domainErrors = <E>(log: Log): MiddlewareObj<E, HttpResult> => ({
  onError: async (request) => {
    const err = request.error;
    if (err instanceof DomainError) {
      request.response = errorResponse(err);
      return;
    }
    log.error('unhandled error', { errorName: err?.name, error: err?.message });
    request.response = json(500, { error: { code: 'internal_error', message: 'Something went wrong on our side. Try again later.' } });
  },
});

/**
 * What every HTTP handler shares: the Lambda context on every log line (keys added for the
 * request removed when it ends), and errors mapped to the contract's body. onError runs in
 * reverse order: errors are mapped (and logged with the request's keys) first.
 */
export function httpGlue<E extends RoutedEvent>(log: Logger) {
  return middy<E, HttpResult>()
    .use(injectLambdaContext(log, { resetKeys: true }))
    .use(routeLogKeys<E>(log))
    .use(domainErrors<E>(log));
}

/**
 * Thin glue for an HTTP route: the account from the token, one domain call, domain errors
 * mapped to the contract's error body.
 */
export function httpRoute(log: Logger, route: (accountId: string, event: HttpEvent, context: Context | undefined) => Promise<HttpResult>) {
  return httpGlue<HttpEvent>(log).handler(async (event, context) => {
      const accountId = accountIdOf(event);
      // A token the authorizer accepted but without a usable subject (none, or over 256
      // characters) is no valid token here: same answer. Nor is the booking service's own
      // token (local stack): it names no account.
      if (!accountId || isServiceCaller(event.requestContext?.authorizer)) return json(401, { message: 'Unauthorized' });
      return route(accountId, event, context);
    });
}
