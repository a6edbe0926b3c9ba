/**
 * Host-change scheduling (issue 18): one check message per active connection per interval,
 * from the sparse `active` index (never a table scan), ten to a SendMessageBatch, each in its
 * account's message group of booking-events.fifo, deduplicated within an interval. Through the
 * local stack's real handler, dynalite and fauxqs (no CalDAV server needed: nothing is checked).
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHECK_MESSAGE_TYPE } from '../../shared/host-changes/check-message.js';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConnectionStore } from '../../shared/store/connections.js';
import { accountKey, CONNECTION_SK } from '../../shared/store/table.js';
import { testStack, type Stack } from '../harness/stack.js';

let stack: Stack;
const commands: Array<{ name: string; input: Record<string, unknown> }> = [];

beforeAll(async () => {
  ({ stack } = await testStack('http://127.0.0.1:9', { hostChecks: false, hostChangesIntervalSeconds: 300 }));
  const record = (next: (args: { input: object }) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: object }) => {
    commands.push({ name: String(context.commandName), input: args.input as Record<string, unknown> });
    return next(args);
  };
  stack.table.doc.middlewareStack.add(record as never, { step: 'initialize', name: 'recordCommands' });
  stack.sqs.middlewareStack.add(record as never, { step: 'initialize', name: 'recordCommands' });
});

afterAll(async () => {
  await stack?.stop();
});

/** An active connection (nothing is ever sent to its calendar here). */
function saveActive(connections: ConnectionStore, accountId: string) {
  return connections.save({
    accountId,
    appleId: `${accountId}@example.com`,
    ciphertext: 'x',
    calendarUrl: 'http://127.0.0.1:9/cal/',
    calendarName: 'Home',
    principalUrl: 'http://127.0.0.1:9/p/',
    homeUrl: 'http://127.0.0.1:9/',
    status: 'active',
    updatedAt: new Date().toISOString(),
  });
}

async function drainChecks(): Promise<Array<{ body: { type: string; userId: string }; group?: string }>> {
  const out = [];
  for (;;) {
    const res = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'] }));
    const messages = res.Messages ?? [];
    if (!messages.length) return out;
    out.push(...messages.map((m) => ({ body: JSON.parse(m.Body!), group: m.Attributes?.MessageGroupId })));
    await stack.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: stack.queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
}

it('sends one check per active connection, from the active index, ten per batch, once per interval', async () => {
  const connections = new ConnectionStore(stack.table);
  const ids = Array.from({ length: 23 }, (_, i) => `acct-sched-${i}`);
  for (const accountId of ids) await saveActive(connections, accountId);
  // One whose credentials were rejected leaves the index: not checked.
  await connections.recordSync('acct-sched-0', { at: new Date().toISOString(), outcome: 'failed', error: 'credentials_rejected' }, 'error');

  commands.length = 0;
  const first = await stack.scheduleHostChecks();
  expect(first).toEqual({ accounts: 22, sent: 22, failed: 0 });
  // Queries of the index only (no Scan, no table read), and SendMessageBatch of at most ten.
  const dynamo = commands.filter((c) => !c.name.startsWith('SendMessage'));
  expect(dynamo.map((c) => c.name).every((n) => n === 'QueryCommand')).toBe(true);
  expect(dynamo.every((c) => c.input.IndexName === 'active')).toBe(true);
  const batches = commands.filter((c) => c.name === 'SendMessageBatchCommand').map((c) => (c.input.Entries as unknown[]).length);
  expect(batches.reduce((a, b) => a + b, 0)).toBe(22);
  expect(Math.max(...batches)).toBeLessThanOrEqual(10);

  // Run again within the same interval (a retried schedule): the queue drops the repeats.
  await stack.scheduleHostChecks();
  const checks = await drainChecks();
  expect(checks.map((c) => c.body.userId).sort()).toEqual(ids.slice(1).sort());
  for (const c of checks) {
    expect(c.body.type).toBe(CHECK_MESSAGE_TYPE);
    expect(c.group).toBe(c.body.userId);
  }

  // Reconnecting puts the account back in the index.
  const back = await connections.get('acct-sched-0');
  await connections.save({ ...back!, status: 'active', updatedAt: new Date().toISOString() });
  commands.length = 0;
  expect((await stack.scheduleHostChecks()).accounts).toBe(23);
});

it('a connection made before host-change detection joins the active index with its first written booking', async () => {
  const connections = new ConnectionStore(stack.table);
  await saveActive(connections, 'acct-sched-old');
  // As stored before the feature: no activeShard.
  await stack.table.doc.send(new UpdateCommand({ TableName: stack.table.name, Key: { pk: accountKey('acct-sched-old'), sk: CONNECTION_SK }, UpdateExpression: 'REMOVE activeShard' }));
  await drainChecks();
  const scheduled = async () => {
    await stack.scheduleHostChecks();
    return (await drainChecks()).map((c) => c.body.userId);
  };
  expect(await scheduled()).not.toContain('acct-sched-old');

  // A failed write says nothing about the credentials' use for checks: still out.
  await connections.recordSync('acct-sched-old', { at: new Date().toISOString(), outcome: 'failed', error: 'event_rejected' });
  expect(await scheduled()).not.toContain('acct-sched-old');
  // A written booking: in, and checked from then on.
  await connections.recordSync('acct-sched-old', { at: new Date().toISOString(), outcome: 'ok' });
  expect(await scheduled()).toContain('acct-sched-old');
});
