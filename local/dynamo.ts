import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { ACTIVE_INDEX, PENDING_INDEX, UNSETTLED_INDEX, UNSETTLED_PROJECTION } from '../shared/store/table.js';
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

type KeyType = 'S' | 'N';
type Projection = { ProjectionType: 'ALL' | 'KEYS_ONLY' } | { ProjectionType: 'INCLUDE'; NonKeyAttributes: string[] };

/** A global index on (hash, range): its spec and the attribute definitions it needs. */
function sparseIndex(name: string, hash: [string, KeyType], range: [string, KeyType], projection: Projection) {
  return {
    spec: {
      IndexName: name,
      KeySchema: [
        { AttributeName: hash[0], KeyType: 'HASH' as const },
        { AttributeName: range[0], KeyType: 'RANGE' as const },
      ],
      Projection: projection,
    },
    attributes: [hash, range].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
  };
}

/** The cloud stack's sparse indexes: `pending` (the sweeper's list), `unsettled` (an account's changes not in the calendar), `active` (host-change detection's). */
const INDEXES = [
  sparseIndex(PENDING_INDEX, ['pendingShard', 'S'], ['dueAt', 'N'], { ProjectionType: 'ALL' }),
  sparseIndex(UNSETTLED_INDEX, ['unsettledAccount', 'S'], ['sk', 'S'], { ProjectionType: 'INCLUDE', NonKeyAttributes: UNSETTLED_PROJECTION }),
  sparseIndex(ACTIVE_INDEX, ['activeShard', 'S'], ['accountId', 'S'], { ProjectionType: 'KEYS_ONLY' }),
];

/** Creates the connector's table (same keys and sparse indexes as the cloud stack) if it is missing. */
export async function ensureTable(endpoint: string, tableName: string, region = 'us-east-1'): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region, credentials: localCredentials });
  try {
    const table = await client.send(new DescribeTableCommand({ TableName: tableName }));
    // A data folder from before an index existed: add it.
    for (const index of INDEXES) {
      if (table.Table?.GlobalSecondaryIndexes?.some((i) => i.IndexName === index.spec.IndexName)) continue;
      await client.send(new UpdateTableCommand({ TableName: tableName, AttributeDefinitions: index.attributes, GlobalSecondaryIndexUpdates: [{ Create: index.spec }] }));
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
          ...INDEXES.flatMap((i) => i.attributes).filter((a, i, all) => a.AttributeName !== 'sk' && all.findIndex((b) => b.AttributeName === a.AttributeName) === i),
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: INDEXES.map((i) => i.spec),
      }),
    );
  } finally {
    client.destroy();
  }
}

export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };
