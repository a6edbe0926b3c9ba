import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One table for everything the connector keeps, all under the account's partition:
 *   pk = ACCOUNT#<accountId>
 *   sk = CONNECTION           the connection (Apple ID, encrypted password, calendar, status)
 *   sk = CONNECT_ATTEMPTS     recent rejected logins (rate limit)
 *   sk = BOOKING#<bookingId>  one booking's desired and applied state (sync)
 * and, outside any account, one partition per Apple ID for the limit that protects it:
 *   pk = APPLE_ID#<HMAC of the normalised Apple ID>, sk = CONNECT_ATTEMPTS
 * `expiresAt` (epoch seconds) is the TTL attribute for records that expire.
 * The sparse global index `pending` (pendingShard, dueAt) holds only booking changes not yet
 * in the calendar: the sweeper's work list, never a table scan. The sparse index `unsettled`
 * (unsettledAccount, sk) holds an account's changes not in the calendar, pending or refused:
 * its details and its reconnect read only those, never all of its booking records.
 * The sparse global index `active` (activeShard, accountId; keys only) holds only the
 * connections that are `active`: host-change detection's list of accounts to check, read a
 * shard at a time, never a table scan.
 *   sk = HOST_CHECK          host-change detection's change tokens per calendar
 * Scoping every key to the account makes "one account can't touch another's" structural.
 */
export interface Table {
  doc: DynamoDBDocumentClient;
  name: string;
}

export const accountKey = (accountId: string) => `ACCOUNT#${accountId}`;
/** Keyed by a MAC (apple-id-mac.ts), never by the address: 43 characters of base64url. */
export const appleIdKey = (appleIdMac: string) => `APPLE_ID#${appleIdMac}`;
export const CONNECTION_SK = 'CONNECTION';
export const ATTEMPTS_SK = 'CONNECT_ATTEMPTS';
export const BOOKING_SK_PREFIX = 'BOOKING#';
export const PENDING_INDEX = 'pending';
/** Sparse too: an account's booking changes not in the calendar (pending or refused, or changed there by the host), for its details and requeue. */
export const UNSETTLED_INDEX = 'unsettled';
/** What the unsettled index projects besides its keys: enough to count and to reopen. */
export const UNSETTLED_PROJECTION = ['accountId', 'bookingId', 'seq', 'appliedSeq', 'failedSeq', 'generation', 'hostChange'];
export const ACTIVE_INDEX = 'active';
export const HOST_CHECK_SK = 'HOST_CHECK';

export function createTable(
  name: string,
  opts: { endpoint?: string; region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): Table {
  const client = new DynamoDBClient({ endpoint: opts.endpoint, region: opts.region ?? 'us-east-1', ...(opts.credentials ? { credentials: opts.credentials } : {}) });
  return { name, doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }) };
}

export const isConditionFailure = (err: unknown) => (err as Error)?.name === 'ConditionalCheckFailedException';
