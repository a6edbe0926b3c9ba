/**
 * The account id is the JWT `sub` (contract §1). A `sub` longer than 256 characters is not a
 * valid account id: the HTTP glue answers it like a missing token (401), never a 5xx. 256
 * UTF-16 code units are at most 768 UTF-8 bytes, so `ACCOUNT#<id>` stays far below
 * DynamoDB's 2,048-byte partition-key limit.
 */
export const MAX_ACCOUNT_ID_LENGTH = 256;

/** DynamoDB's limits on key attributes (UTF-8 bytes). */
export const DYNAMODB_MAX_PARTITION_KEY_BYTES = 2048;
export const DYNAMODB_MAX_SORT_KEY_BYTES = 1024;

export function isValidAccountId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ACCOUNT_ID_LENGTH;
}
