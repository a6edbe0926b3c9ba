import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isServiceCaller } from '../../shared/busy/service-caller.js';
import { DomainError, invalidRequest } from '../../shared/errors.js';
import { isValidAccountId } from '../../shared/account-id.js';
import { httpGlue, type HttpResult } from './http.js';

export type InternalEvent = APIGatewayProxyEventV2 & { requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: unknown } };

/**
 * Thin glue for a route of the booking service: only a service caller (IAM in the cloud, the
 * local service token) gets through, 403 for anyone else (a user's token included); the
 * account comes from the path. Domain errors map like the dashboard's routes.
 */
export function internalRoute(log: Logger, route: (accountId: string, event: InternalEvent) => Promise<HttpResult>) {
  return httpGlue<InternalEvent>(log).handler(async (event) => {
    if (!isServiceCaller(event.requestContext?.authorizer)) throw new DomainError('forbidden', 'This route is for the booking service only.');
    const accountId = event.pathParameters?.accountId ?? '';
    if (!isValidAccountId(accountId)) throw invalidRequest({ accountId: 'must be an account id of 1 to 256 characters' });
    return route(accountId, event);
  });
}
