import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSBatchResponse } from 'aws-lambda';
import { startLocalStack, type LocalStackOptions } from '../../local/stack.js';
import { sqsEvent } from './bookings.js';
import { memoryOutput } from './log.js';

export type Stack = Awaited<ReturnType<typeof startLocalStack>>;

/**
 * A local stack for a test, with the consumers and the sweeper off so tests drive the sync
 * handler with real SQSEvents (unless `options` turn them on), retries in seconds, logs and
 * metrics in memory; plus small callers.
 */
export async function testStack(caldavServerUrl: string, options: LocalStackOptions = {}) {
  const output = memoryOutput();
  const stack = await startLocalStack({
    port: 0,
    persist: false,
    poll: false,
    dataDir: mkdtempSync(join(tmpdir(), 'stack-')),
    caldavServerUrl,
    retryBaseSeconds: 1,
    logStream: output.stream,
    metrics: output.metrics,
    random: () => 0,
    // As deployed: the test's queue outlives every handler call (SQS keeps what it hands out).
    recordFirst: false,
    ...options,
  });
  const api = async (method: string, account: string, body?: unknown) => {
    const res = await fetch(`${stack.url}/integrations/apple-calendar`, {
      method,
      headers: { authorization: `Bearer ${await stack.token(account)}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, headers: res.headers, body: (res.status === 204 ? undefined : await res.json()) as any };
  };
  const sync = async (bodies: unknown[], receiveCount = 1) => (await stack.syncHandler(sqsEvent(bodies, receiveCount))) as SQSBatchResponse;
  return { stack, api, sync, output };
}
