import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable, localCredentials, startDynalite, type LocalDynamo } from '../../local/dynamo.js';
import type { Table } from '../../shared/store/table.js';

/** An in-memory dynalite with the connector's table, and a document client on it. */
export async function startTable(name = `t-${randomUUID().slice(0, 8)}`): Promise<{ dynamo: LocalDynamo; table: Table; stop(): Promise<void> }> {
  const dynamo = await startDynalite();
  await ensureTable(dynamo.endpoint, name);
  const table = tableClient(dynamo.endpoint, name);
  return {
    dynamo,
    table,
    async stop() {
      table.doc.destroy();
      await dynamo.stop();
    },
  };
}

/** A document client on an existing table (same marshalling as the connector's). */
export function tableClient(endpoint: string, name: string): Table {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials });
  return { name, doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }) };
}
