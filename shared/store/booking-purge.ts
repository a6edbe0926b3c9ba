import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { accountKey, BOOKING_SK_PREFIX, type Table } from './table.js';

/**
 * Deletes an account's booking records (disconnect drops pending changes with the
 * credentials). The connection and the connect-attempts record are left to their owners:
 * disconnecting must not reset the attempt limit.
 */
export async function deleteBookingRecords(table: Table, accountId: string): Promise<number> {
  const pk = accountKey(accountId);
  let deleted = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await table.doc.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': BOOKING_SK_PREFIX },
        ProjectionExpression: 'pk, sk',
        ExclusiveStartKey: startKey,
      }),
    );
    const keys = page.Items ?? [];
    for (let i = 0; i < keys.length; i += 25) {
      let requests = keys.slice(i, i + 25).map((k) => ({ DeleteRequest: { Key: { pk: k.pk, sk: k.sk } } }));
      for (let tries = 0; requests.length && tries < 8; tries++) {
        const out = await table.doc.send(new BatchWriteCommand({ RequestItems: { [table.name]: requests } }));
        requests = (out.UnprocessedItems?.[table.name] ?? []) as typeof requests;
        if (requests.length) await new Promise((r) => setTimeout(r, 50 * 2 ** tries));
      }
      if (requests.length) throw new Error('could not delete all booking records');
      deleted += Math.min(25, keys.length - i);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return deleted;
}
