import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
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
      for (let i = 0; i < page.length; i += 10) {
        const batch = page.slice(i, i + 10);
        try {
          const out = await deps.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: deps.queueUrl,
              Entries: batch.map((accountId, j) => ({
                Id: String(j),
                MessageBody: JSON.stringify(checkMessage(accountId)),
                MessageGroupId: accountId,
                MessageDeduplicationId: `check:${createHash('sha256').update(accountId).digest('hex').slice(0, 48)}:${slot}`,
              })),
            }),
          );
          result.failed += out.Failed?.length ?? 0;
          result.sent += batch.length - (out.Failed?.length ?? 0);
        } catch (err) {
          result.failed += batch.length;
          deps.log.error('host-change checks not sent: the next interval sends them', { accounts: batch.length, error: (err as Error).message });
        }
      }
    }
  });
  if (result.accounts) deps.log.info('host-change checks scheduled', { ...result });
  return result;
}
