import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchedReads } from '../../shared/store/batched-reads.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import type { Table } from '../../shared/store/table.js';
import { startTable } from '../harness/dynamo.js';

let db: Awaited<ReturnType<typeof startTable>>;
let table: Table;
/** The commands the table's client was asked to send, with their inputs. */
const sent: Array<{ command: string; input: Record<string, unknown> }> = [];
beforeAll(async () => {
  db = await startTable();
  table = db.table;
  table.doc.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: String(context.commandName), input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  for (let i = 0; i < 150; i++) await table.doc.send(new PutCommand({ TableName: table.name, Item: { pk: `P#${i}`, sk: 'S', n: i } }));
  sent.length = 0;
});
afterAll(async () => {
  await db?.stop();
});

const keyOf = (i: number) => ({ pk: `P#${i}`, sk: 'S' });

describe('batchedReads', () => {
  it('reads asked for at once go out as one consistent BatchGetItem; each caller gets its own item (or none)', async () => {
    sent.length = 0;
    const read = batchedReads(table);
    const items = await Promise.all([3, 1, 7, 999, 2].map((i) => read(keyOf(i))));
    expect(items.map((it) => it?.n)).toEqual([3, 1, 7, undefined, 2]);
    expect(sent.map((s) => s.command)).toEqual(['BatchGetItemCommand']);
    expect(sent[0]!.input).toMatchObject({ RequestItems: { [table.name]: { ConsistentRead: true } } });
  });

  it('a read on its own is a plain consistent GetItem', async () => {
    sent.length = 0;
    const read = batchedReads(table);
    expect((await read(keyOf(5)))?.n).toBe(5);
    expect(sent.map((s) => [s.command, s.input.ConsistentRead])).toEqual([['GetItemCommand', true]]);
  });

  it('the same key twice is read once, for both callers', async () => {
    sent.length = 0;
    const read = batchedReads(table);
    const [a, b, c] = await Promise.all([read(keyOf(4)), read(keyOf(4)), read(keyOf(6))]);
    expect([a?.n, b?.n, c?.n]).toEqual([4, 4, 6]);
    const keys = (sent[0]!.input.RequestItems as Record<string, { Keys: unknown[] }>)[table.name]!.Keys;
    expect(keys).toHaveLength(2); // DynamoDB refuses a batch with the same key twice
  });

  it('more than 100 reads at once: batches of at most 100 keys', async () => {
    sent.length = 0;
    const read = batchedReads(table);
    const items = await Promise.all(Array.from({ length: 150 }, (_, i) => read(keyOf(i))));
    expect(items.map((it) => it?.n)).toEqual(Array.from({ length: 150 }, (_, i) => i));
    const sizes = sent.map((s) => (s.input.RequestItems as Record<string, { Keys: unknown[] }>)[table.name]!.Keys.length);
    expect(sizes.sort((x, y) => x - y)).toEqual([50, 100]);
  });

  it('reads asked for later go out in a later call', async () => {
    sent.length = 0;
    const read = batchedReads(table);
    await Promise.all([read(keyOf(1)), read(keyOf(2))]);
    await Promise.all([read(keyOf(3)), read(keyOf(4))]);
    expect(sent.map((s) => s.command)).toEqual(['BatchGetItemCommand', 'BatchGetItemCommand']);
  });

  it('keys the table leaves unprocessed are read one by one; a failure reaches every caller of that batch', async () => {
    // dynalite never leaves keys unprocessed (DynamoDB does, under load): a table that does.
    const calls: string[] = [];
    let fail = false;
    const fake = {
      name: 't',
      doc: {
        send: async (cmd: { constructor: { name: string }; input: { Key?: { pk: string }; RequestItems?: Record<string, { Keys: Array<{ pk: string; sk: string }> }> } }) => {
          calls.push(cmd.constructor.name);
          if (fail) throw new Error('throttled');
          if (cmd.input.Key) return { Item: { ...cmd.input.Key, via: 'get' } };
          const [first, ...rest] = cmd.input.RequestItems!.t!.Keys;
          return { Responses: { t: [{ ...first, via: 'batch' }] }, UnprocessedKeys: { t: { Keys: rest } } };
        },
      },
    } as unknown as Table;
    const read = batchedReads(fake);
    const items = await Promise.all([1, 2, 3].map((i) => read(keyOf(i))));
    expect(items.map((it) => [it?.pk, it?.via])).toEqual([
      ['P#1', 'batch'],
      ['P#2', 'get'],
      ['P#3', 'get'],
    ]);
    expect(calls).toEqual(['BatchGetCommand', 'GetCommand', 'GetCommand']);
    fail = true;
    const results = await Promise.allSettled([read(keyOf(1)), read(keyOf(2))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('ConnectionStore with batched reads reads what the plain one reads', async () => {
    const item = { pk: 'ACCOUNT#acct-br', sk: 'CONNECTION', accountId: 'acct-br', appleId: 'ann@example.com', generation: 'g7', status: 'active' };
    await table.doc.send(new PutCommand({ TableName: table.name, Item: item }));
    const batched = new ConnectionStore(table, { reads: batchedReads(table) });
    const [a, none] = await Promise.all([batched.get('acct-br'), batched.get('acct-missing')]);
    expect(a).toEqual(await new ConnectionStore(table).get('acct-br'));
    expect(a).toMatchObject({ accountId: 'acct-br', generation: 'g7' });
    expect(none).toBeUndefined();
  });

  it('a connection and booking records read at once through one shared reader are one BatchGetItem', async () => {
    const conn = { pk: 'ACCOUNT#acct-sh', sk: 'CONNECTION', accountId: 'acct-sh', appleId: 'ann@example.com', generation: 'g1', status: 'active' };
    const booking = { pk: 'ACCOUNT#acct-sh', sk: 'BOOKING#bk_1', accountId: 'acct-sh', bookingId: 'bk_1', seq: 2, desired: 'event' };
    await table.doc.send(new PutCommand({ TableName: table.name, Item: conn }));
    await table.doc.send(new PutCommand({ TableName: table.name, Item: booking }));
    sent.length = 0;
    const reads = batchedReads(table);
    const [c, b, none] = await Promise.all([
      new ConnectionStore(table, { reads }).get('acct-sh'),
      new BookingStore(table, Date.now, 300_000, reads).get('acct-sh', 'bk_1'),
      new BookingStore(table, Date.now, 300_000, reads).get('acct-sh', 'bk_none'),
    ]);
    expect(sent.map((s) => s.command)).toEqual(['BatchGetItemCommand']);
    expect(c).toMatchObject({ generation: 'g1' });
    expect(b).toMatchObject({ bookingId: 'bk_1', seq: 2 });
    expect(none).toBeUndefined();
  });
});
