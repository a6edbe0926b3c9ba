import { BatchGetCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Table } from './table.js';

type Key = { pk: string; sk: string };
type Item = Record<string, unknown>;
/** A strongly consistent read of one item by key. */
export type ItemReader = (key: Key) => Promise<Item | undefined>;

/** One GetItem per read. */
export const consistentGet =
  (table: Table): ItemReader =>
  async (key) =>
    (await table.doc.send(new GetCommand({ TableName: table.name, Key: key, ConsistentRead: true }))).Item;

/** BatchGetItem takes at most this many keys a call. */
const MAX_KEYS = 100;

/**
 * Strongly consistent reads of single items: the reads asked for in one turn of the event loop
 * go out together as one BatchGetItem (a single one as a plain GetItem). A sync batch reads
 * the connections of up to ten accounts at once; one call instead of ten spares the handler
 * nine signed requests and the table nine round trips in front of the calendar writes. Keys
 * the table leaves unprocessed are read again one by one; the same key twice is read once.
 */
export function batchedReads(table: Table): ItemReader {
  let queued: Map<string, { key: Key; waiters: Array<{ resolve: (item: Item | undefined) => void; reject: (err: unknown) => void }> }> | undefined;

  const getOne = consistentGet(table);

  async function getMany(keys: Key[]): Promise<Map<string, Item | undefined>> {
    const found = new Map<string, Item | undefined>();
    if (keys.length === 1) {
      found.set(id(keys[0]!), await getOne(keys[0]!));
      return found;
    }
    const out = await table.doc.send(new BatchGetCommand({ RequestItems: { [table.name]: { Keys: keys, ConsistentRead: true } } }));
    for (const item of out.Responses?.[table.name] ?? []) found.set(id(item as Key), item);
    const unprocessed = (out.UnprocessedKeys?.[table.name]?.Keys ?? []) as Key[];
    await Promise.all(unprocessed.map(async (k) => found.set(id(k), await getOne(k))));
    return found;
  }

  function flush() {
    const batch = [...queued!.values()];
    queued = undefined;
    for (let i = 0; i < batch.length; i += MAX_KEYS) {
      const part = batch.slice(i, i + MAX_KEYS);
      getMany(part.map((q) => q.key)).then(
        (found) => part.forEach((q) => q.waiters.forEach((w) => w.resolve(found.get(id(q.key))))),
        (err: unknown) => part.forEach((q) => q.waiters.forEach((w) => w.reject(err))),
      );
    }
  }

  return (key) =>
    new Promise((resolve, reject) => {
      if (!queued) {
        queued = new Map();
        setImmediate(flush);
      }
      const k = id(key);
      const entry = queued.get(k) ?? { key, waiters: [] };
      entry.waiters.push({ resolve, reject });
      queued.set(k, entry);
    });
}

const id = (key: Key) => `${key.pk}\n${key.sk}`;
