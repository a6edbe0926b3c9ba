/**
 * Who may call `GET /internal/accounts/{accountId}/apple-calendar/busy`: the booking service.
 * In the cloud API Gateway checks its SigV4 signature and IAM permission (the event then
 * carries `requestContext.authorizer.iam`), and the handler accepts only the roles configured
 * as the booking service (`BUSY_READER_ROLE_ARNS`): any other IAM caller the account's
 * policies happen to allow is refused. On the local stack it presents a token from
 * `npm run --silent token -- --service`, which carries this claim. A user's token never does.
 */
export const SERVICE_CLAIM = 'apple_calendar_service';
export const SERVICE_CLAIM_VALUE = 'booking-service';
export const SERVICE_SUBJECT = 'svc:booking-service';

interface Authorizer {
  iam?: { userArn?: unknown };
  jwt?: { claims?: Record<string, unknown> };
}

/** Whether the caller presents itself as a service (IAM, or the service claim): never a user of the dashboard routes. */
export function isServiceCaller(authorizer: unknown): boolean {
  const a = authorizer as Authorizer | undefined;
  if (a?.iam && typeof a.iam === 'object') return true;
  return a?.jwt?.claims?.[SERVICE_CLAIM] === SERVICE_CLAIM_VALUE;
}

/** Whether the caller is the booking service: an IAM session of one of `roleArns`, or the local service token. */
export function isBookingService(authorizer: unknown, roleArns: readonly string[]): boolean {
  const a = authorizer as Authorizer | undefined;
  if (a?.iam && typeof a.iam === 'object') {
    const caller = typeof a.iam.userArn === 'string' ? a.iam.userArn : '';
    return roleArns.some((role) => isSessionOf(caller, role));
  }
  return a?.jwt?.claims?.[SERVICE_CLAIM] === SERVICE_CLAIM_VALUE;
}

export const ROLE_ARN = /^arn:([\w-]+):iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]+)$/;

/**
 * A role's ARN (`arn:aws:iam::123456789012:role/path/BookingService`) against the caller ARN
 * API Gateway reports for it: `arn:aws:sts::123456789012:assumed-role/BookingService/<session>`
 * (the path is not in it). Same partition, account and role name.
 */
function isSessionOf(caller: string, roleArn: string): boolean {
  const role = ROLE_ARN.exec(roleArn);
  if (!role || !caller) return false;
  if (caller === roleArn) return true;
  const session = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/[^/]+$/.exec(caller);
  return !!session && session[1] === role[1] && session[2] === role[2] && session[3] === role[3];
}
