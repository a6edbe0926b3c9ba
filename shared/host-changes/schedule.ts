import { createHash } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { sendFifo } from '../fifo-send.js';
import { mapLimit } from '../concurrency.js';
import type { Log } from '../logger.js';
import { ACTIVE_SHARDS, type ConnectionStore } from '../store/connections.js';
import { checkMessage } from './check-message.js';

export interface ScheduleDeps {
  connections: Pick<ConnectionStore, 'activeAccounts'>;
  sqs: SQSClient;
  /** booking-events.fifo: the check runs in the account's message group (one writer per account). */
  queueUrl: string;
  intervalSeconds: number;
  log: Pick<Log, 'info' | 'error'>;
  now?: () => Date;
}

export interface ScheduleResult {
  accounts: number;
  sent: number;
  failed: number;
}

/**
 * Once per interval: one "check" message per active connection, in its account's group of
 * booking-events.fifo. The accounts come from the sparse `active` index (keys only), one
 * Query page per ~thousands of accounts and shard, never a table scan; messages go ten at a
 * time (SendMessageBatch). The deduplication id names the interval, so a scheduler that runs
 * twice in one interval (a retry) sends each check once.
 */
export async function scheduleHostChecks(deps: ScheduleDeps): Promise<ScheduleResult> {
  const now = deps.now?.() ?? new Date();
  const slot = Math.floor(now.getTime() / (deps.intervalSeconds * 1000));
  const result: ScheduleResult = { accounts: 0, sent: 0, failed: 0 };
  await mapLimit([...Array(ACTIVE_SHARDS).keys()], 4, async (shard) => {
    for await (const page of deps.connections.activeAccounts(shard)) {
      result.accounts += page.length;
      const taken = await sendFifo(
        deps.sqs,
        deps.queueUrl,
        page.map((accountId) => ({
          body: JSON.stringify(checkMessage(accountId)),
          group: accountId,
          dedupId: `check:${createHash('sha256').update(accountId).digest('hex').slice(0, 48)}:${slot}`,
        })),
        (err, size) => deps.log.error('host-change checks not sent: the next interval sends them', { accounts: size, error: err.message }),
      );
      const sent = taken.filter(Boolean).length;
      result.sent += sent;
      result.failed += page.length - sent;
    }
  });
  if (result.accounts) deps.log.info('host-change checks scheduled', { ...result });
  return result;
}
