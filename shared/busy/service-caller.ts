/**
 * Who may call `GET /internal/accounts/{accountId}/apple-calendar/busy`: the booking service.
 * In the cloud API Gateway checks its SigV4 signature and IAM permission (the event then
 * carries `requestContext.authorizer.iam`); on the local stack it presents a token from
 * `npm run --silent token -- --service`, which carries this claim. A user's token never does.
 */
export const SERVICE_CLAIM = 'apple_calendar_service';
export const SERVICE_CLAIM_VALUE = 'booking-service';
export const SERVICE_SUBJECT = 'svc:booking-service';

export function isServiceCaller(authorizer: unknown): boolean {
  const a = authorizer as { iam?: unknown; jwt?: { claims?: Record<string, unknown> } } | undefined;
  if (a?.iam && typeof a.iam === 'object') return true;
  return a?.jwt?.claims?.[SERVICE_CLAIM] === SERVICE_CLAIM_VALUE;
}
