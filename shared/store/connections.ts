import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { paginateQuery } from '@aws-sdk/lib-dynamodb';
import { consistentGet, type ItemReader } from './batched-reads.js';
import { accountKey, ACTIVE_INDEX, CONNECTION_SK, isConditionFailure, type Table } from './table.js';

export type ConnectionStatus = 'active' | 'error';

export interface LastSync {
  at: string;
  outcome: 'ok' | 'failed';
  error?: string;
}

/** A calendar of the account that can hold events, as last seen (busy times). */
export interface StoredCalendar {
  url: string;
  name: string;
  /** Its events count as busy (PATCH conflictCalendars); new calendars start checked. */
  checkedForConflicts: boolean;
  /** False for a read-only (shared-to-you) calendar: never a destination. */
  writable: boolean;
  /** Change tokens from the listing that found it (a cold busy read starts from them). */
  syncToken?: string;
  ctag?: string;
}

export interface Connection {
  accountId: string;
  appleId: string;
  /** Base64 ciphertext of the app-specific password (KMS, bound to the account id). */
  ciphertext: string;
  calendarUrl: string;
  calendarName: string;
  principalUrl: string;
  homeUrl: string;
  status: ConnectionStatus;
  /**
   * Made when an account connects and kept while it reconnects the same Apple ID; booking
   * changes carry it, so a change recorded for an earlier connection is never written with
   * a later one (after a disconnect and a connect of another Apple ID).
   */
  generation: string;
  connectedAt: string;
  updatedAt: string;
  lastSync?: LastSync;
  /** Every calendar that can hold events; absent on connections made before busy times. */
  calendars?: StoredCalendar[];
  /** The principal's calendar-user addresses (declined invitations are recognised by them). */
  addresses?: string[];
  /** Grows with every change of `calendars` after connect (conditional updates). */
  calendarsVersion?: number;
  /** The calendar new bookings go to (PATCH calendar); absent: the default calendar. */
  destination?: { url: string; name: string };
  /** A display alert this many minutes before each event written (PATCH alertMinutesBefore); absent: none. */
  alertMinutesBefore?: number;
}

/** The settings a PATCH changes; `alertMinutesBefore: null` removes the alert. */
export interface SettingsChange {
  calendars?: StoredCalendar[];
  destination?: { url: string; name: string };
  alertMinutesBefore?: number | null;
}

const key = (accountId: string) => ({ pk: accountKey(accountId), sk: CONNECTION_SK });
/** The `active` index is spread over this many partitions (by account). */
export const ACTIVE_SHARDS = 16;
export const activeShard = (accountId: string) => `ACTIVE#${createHash('sha256').update(accountId).digest().readUInt16BE(0) % ACTIVE_SHARDS}`;
const sameAppleId = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

export class AppleIdConflict extends Error {
  constructor() {
    super('Another Apple ID is connected to this account');
    this.name = 'AppleIdConflict';
  }
}

/** The account's connection item, read by every route and by sync. */
export class ConnectionStore {
  private readonly read: ItemReader;

  /**
   * `reads`: how single items are read; `batchedReads(table)` makes reads issued together one
   * BatchGetItem (the sync handler reads a batch's connections and booking records so).
   */
  constructor(
    private readonly table: Table,
    opts: { reads?: ItemReader } = {},
  ) {
    this.read = opts.reads ?? consistentGet(table);
  }

  async get(accountId: string): Promise<Connection | undefined> {
    const item = await this.read(key(accountId));
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, appleIdKey: _k, activeShard: _a, ...rest } = item;
    // Connections saved before generations existed are their own first generation.
    return { generation: 'g0', ...rest } as Connection;
  }

  /**
   * Saves a freshly verified connection. A new one is created only if the account has none;
   * an existing one is replaced only if it is for the same Apple ID (conditional writes, so
   * two concurrent connects with different Apple IDs can't both win).
   * Returns whether the connection was created (vs. replaced).
   */
  async save(
    conn: Omit<Connection, 'connectedAt' | 'lastSync' | 'generation' | 'destination' | 'alertMinutesBefore'> & { connectedAt?: string },
  ): Promise<{ created: boolean; connection: Connection }> {
    const appleIdKey = conn.appleId.trim().toLowerCase();
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.get(conn.accountId);
      if (existing && !sameAppleId(existing.appleId, conn.appleId)) throw new AppleIdConflict();
      const connection: Connection = {
        ...conn,
        // The person's settings survive a reconnect of the same Apple ID.
        ...(existing?.destination ? { destination: existing.destination } : {}),
        ...(existing?.alertMinutesBefore !== undefined ? { alertMinutesBefore: existing.alertMinutesBefore } : {}),
        generation: existing?.generation ?? randomUUID(),
        connectedAt: existing?.connectedAt ?? conn.connectedAt ?? conn.updatedAt,
        ...(existing?.lastSync ? { lastSync: existing.lastSync } : {}),
      };
      try {
        await this.table.doc.send(
          new PutCommand({
            TableName: this.table.name,
            // In the sparse `active` index while active (host-change detection's list).
            Item: { ...key(conn.accountId), appleIdKey, ...connection, ...(connection.status === 'active' ? { activeShard: activeShard(conn.accountId) } : {}) },
            ...(existing
              ? { ConditionExpression: 'appleIdKey = :k', ExpressionAttributeValues: { ':k': appleIdKey } }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
        return { created: !existing, connection };
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        // Someone connected or disconnected in between: look again.
      }
    }
    throw new AppleIdConflict();
  }

  /** Records the outcome of a sync; `status` moves to error when credentials were rejected. */
  async recordSync(accountId: string, lastSync: LastSync, status?: ConnectionStatus, ciphertext?: string): Promise<void> {
    const sets = ['lastSync = :ls'];
    const values: Record<string, unknown> = { ':ls': lastSync };
    if (status) {
      sets.push('#st = :st');
      values[':st'] = status;
    }
    // Out of the `active` index once the credentials stop working (back in at reconnect). A
    // write that went through says the credentials work: a connection made before host-change
    // detection existed joins the index with its first one (no backfill needed).
    const remove = status === 'error' ? ' REMOVE activeShard' : '';
    if (status !== 'error' && lastSync.outcome === 'ok') {
      sets.push('activeShard = :as');
      values[':as'] = activeShard(accountId);
    }
    // Only touch the connection the sync used: a reconnect with a new password in between wins.
    const cond = ciphertext ? 'attribute_exists(pk) AND ciphertext = :ct' : 'attribute_exists(pk)';
    if (ciphertext) values[':ct'] = ciphertext;
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key(accountId),
          UpdateExpression: `SET ${sets.join(', ')}${remove}`,
          ConditionExpression: cond,
          ...(status ? { ExpressionAttributeNames: { '#st': 'status' } } : {}),
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** After a re-discovery: the calendar moved (iCloud partition change). */
  async updateCalendar(
    accountId: string,
    ciphertext: string,
    found: { principalUrl: string; homeUrl: string; calendar: { url: string; name: string } },
    /** The account's calendars as listed now, the person's choices already merged in. */
    calendars?: StoredCalendar[],
  ): Promise<void> {
    const values: Record<string, unknown> = { ':u': found.calendar.url, ':n': found.calendar.name, ':p': found.principalUrl, ':h': found.homeUrl, ':ct': ciphertext };
    let update = 'SET calendarUrl = :u, calendarName = :n, principalUrl = :p, homeUrl = :h';
    if (calendars) {
      // A new list: bump its version, so a PATCH that read the old one tries again.
      update += ', calendars = :c, calendarsVersion = if_not_exists(calendarsVersion, :zero) + :one';
      Object.assign(values, { ':c': calendars, ':zero': 0, ':one': 1 });
    }
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key(accountId),
          UpdateExpression: update,
          ConditionExpression: 'attribute_exists(pk) AND ciphertext = :ct',
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /**
   * Replaces the calendar list if it is still the one the caller read (`calendarsVersion`,
   * absent before the first change): a concurrent PATCH or refresh is never overwritten
   * blindly. Returns false when it changed in between.
   */
  updateCalendars(accountId: string, calendars: StoredCalendar[], readVersion: number | undefined): Promise<boolean> {
    return this.updateSettings(accountId, { calendars }, readVersion);
  }

  /**
   * Applies a PATCH (conflict choices, destination, alert) if the calendar list is still the
   * one the change was checked against (`calendarsVersion`); bumps the version. False when it
   * changed in between (the caller checks again).
   */
  async updateSettings(accountId: string, change: SettingsChange, readVersion: number | undefined): Promise<boolean> {
    const sets = ['calendarsVersion = :next'];
    const removes: string[] = [];
    const values: Record<string, unknown> = { ':next': (readVersion ?? 0) + 1, ...(readVersion === undefined ? {} : { ':v': readVersion }) };
    const set = (attribute: string, value: unknown) => {
      sets.push(`${attribute} = :${attribute}`);
      values[`:${attribute}`] = value;
    };
    if (change.calendars) set('calendars', change.calendars);
    if (change.destination) set('destination', change.destination);
    if (change.alertMinutesBefore === null) removes.push('alertMinutesBefore');
    else if (change.alertMinutesBefore !== undefined) set('alertMinutesBefore', change.alertMinutesBefore);
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key(accountId),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: readVersion === undefined ? 'attribute_exists(pk) AND attribute_not_exists(calendarsVersion)' : 'attribute_exists(pk) AND calendarsVersion = :v',
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** Every active account of one shard of the `active` index, a page at a time (keys only). */
  async *activeAccounts(shard: number): AsyncGenerator<string[]> {
    const pages = paginateQuery(
      { client: this.table.doc },
      { TableName: this.table.name, IndexName: ACTIVE_INDEX, KeyConditionExpression: 'activeShard = :s', ExpressionAttributeValues: { ':s': `ACTIVE#${shard}` } },
    );
    for await (const page of pages) yield (page.Items ?? []).map((i) => String(i.accountId));
  }

  async delete(accountId: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: key(accountId) }));
  }
}
