import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { PENDING_INDEX, UNSETTLED_INDEX, UNSETTLED_PROJECTION } from '../shared/store/table.js';
// @ts-expect-error dynalite ships no types
import dynalite from 'dynalite';

export interface LocalDynamo {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * dynalite: a DynamoDB API over HTTP, in-process. With `path` the data is kept in a LevelDB
 * folder across restarts; without it, in memory.
 */
export async function startDynalite(opts: { path?: string; port?: number } = {}): Promise<LocalDynamo> {
  const server: Server = dynalite({ path: opts.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const PENDING_INDEX_SPEC = {
  IndexName: PENDING_INDEX,
  KeySchema: [
    { AttributeName: 'pendingShard', KeyType: 'HASH' as const },
    { AttributeName: 'dueAt', KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'ALL' as const },
};
const PENDING_INDEX_ATTRIBUTES = [
  { AttributeName: 'pendingShard', AttributeType: 'S' as const },
  { AttributeName: 'dueAt', AttributeType: 'N' as const },
];
const UNSETTLED_INDEX_SPEC = {
  IndexName: UNSETTLED_INDEX,
  KeySchema: [
    { AttributeName: 'unsettledAccount', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: UNSETTLED_PROJECTION },
};
const UNSETTLED_INDEX_ATTRIBUTES = [
  { AttributeName: 'unsettledAccount', AttributeType: 'S' as const },
  { AttributeName: 'sk', AttributeType: 'S' as const },
];

/** Creates the connector's table (same keys and sparse `pending` and `unsettled` indexes as the cloud stack) if it is missing. */
export async function ensureTable(endpoint: string, tableName: string, region = 'us-east-1'): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region, credentials: localCredentials });
  try {
    const table = await client.send(new DescribeTableCommand({ TableName: tableName }));
    // A data folder from before an index existed: add it.
    for (const [spec, attributes] of [
      [PENDING_INDEX_SPEC, PENDING_INDEX_ATTRIBUTES],
      [UNSETTLED_INDEX_SPEC, UNSETTLED_INDEX_ATTRIBUTES],
    ] as const) {
      if (table.Table?.GlobalSecondaryIndexes?.some((i) => i.IndexName === spec.IndexName)) continue;
      await client.send(new UpdateTableCommand({ TableName: tableName, AttributeDefinitions: [...attributes], GlobalSecondaryIndexUpdates: [{ Create: spec }] }));
    }
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          ...PENDING_INDEX_ATTRIBUTES,
          { AttributeName: 'unsettledAccount', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [PENDING_INDEX_SPEC, UNSETTLED_INDEX_SPEC],
      }),
    );
  } finally {
    client.destroy();
  }
}

export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };
