import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isBookingService } from '../../shared/busy/service-caller.js';
import { DomainError, invalidRequest } from '../../shared/errors.js';
import { isValidAccountId } from '../../shared/account-id.js';
import { httpGlue, type HttpResult } from './http.js';

export type InternalEvent = APIGatewayProxyEventV2 & { requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: unknown } };

/**
 * Thin glue for a route of the booking service: only the booking service (an IAM session of
 * one of `bookingServiceRoles` in the cloud, the local service token) gets through, 403 for
 * anyone else (another IAM caller, a user's token); the account comes from the path. Domain
 * errors map like the dashboard's routes.
 */
export function internalRoute(log: Logger, bookingServiceRoles: readonly string[], route: (accountId: string, event: InternalEvent) => Promise<HttpResult>) {
  return httpGlue<InternalEvent>(log).handler(async (event) => {
    if (!isBookingService(event.requestContext?.authorizer, bookingServiceRoles)) throw new DomainError('forbidden', 'This route is for the booking service only.');
    const accountId = event.pathParameters?.accountId ?? '';
    if (!isValidAccountId(accountId)) throw invalidRequest({ accountId: 'must be an account id of 1 to 256 characters' });
    return route(accountId, event);
  });
}
