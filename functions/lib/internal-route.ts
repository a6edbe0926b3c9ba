import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isServiceCaller } from '../../shared/busy/service-caller.js';
import { DomainError, invalidRequest } from '../../shared/errors.js';
import type { Log } from '../../shared/logger.js';
import { errorResponse, json, type HttpResult } from './http.js';

export type InternalEvent = APIGatewayProxyEventV2 & { requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: unknown } };

/**
 * Thin glue for a route of the booking service: only a service caller (IAM in the cloud, the
 * local service token) gets through, 403 for anyone else (a user's token included); the
 * account comes from the path. Domain errors map like the dashboard's routes.
 */
export function internalRoute(log: Log, route: (accountId: string, event: InternalEvent) => Promise<HttpResult>) {
  return middy<InternalEvent, HttpResult>().handler(async (event) => {
    log.appendKeys({ route: event.routeKey, requestId: event.requestContext?.requestId });
    try {
      if (!isServiceCaller(event.requestContext?.authorizer)) throw new DomainError('forbidden', 'This route is for the booking service only.');
      const accountId = event.pathParameters?.accountId ?? '';
      if (!accountId || accountId.length > 256) throw invalidRequest({ accountId: 'must be an account id of 1 to 256 characters' });
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
