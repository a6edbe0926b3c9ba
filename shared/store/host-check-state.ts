import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { accountKey, HOST_CHECK_SK, type Table } from './table.js';

/** What host-change detection last saw of one calendar: its change tokens after the last read. */
export interface CalendarMark {
  url: string;
  /** RFC 6578 sync token: the next read asks only for what changed since. */
  syncToken?: string;
  /** CalendarServer getctag (servers without sync tokens). */
  ctag?: string;
  /** The token the next sync-collection starts from, when it is not `syncToken` (changes to read a second time). */
  readFrom?: string;
  /** The last read found changes: read once more at the next check (listings may lag writes). */
  recheck?: boolean;
}

export interface HostCheckState {
  calendars: CalendarMark[];
  checkedAt: string;
}

/**
 * One item per account (sk = HOST_CHECK) holding detection's own change tokens. They are
 * kept apart from the busy cache's: a token says "you have seen everything up to here", and
 * each reader must advance its own, or one would hide changes from the other. Written only
 * by the account's one writer (the check runs in its message group).
 */
export class HostCheckStore {
  constructor(private readonly table: Table) {}

  async get(accountId: string): Promise<HostCheckState | undefined> {
    const out = await this.table.doc.send(new GetCommand({ TableName: this.table.name, Key: { pk: accountKey(accountId), sk: HOST_CHECK_SK }, ConsistentRead: true }));
    return out.Item ? { calendars: (out.Item.calendars as CalendarMark[]) ?? [], checkedAt: String(out.Item.checkedAt) } : undefined;
  }

  async put(accountId: string, state: HostCheckState): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { pk: accountKey(accountId), sk: HOST_CHECK_SK, ...state } }));
  }

  async delete(accountId: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: { pk: accountKey(accountId), sk: HOST_CHECK_SK } }));
  }
}
