import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSBatchResponse } from 'aws-lambda';
import { startLocalStack } from '../../local/stack.js';
import { sqsEvent } from './bookings.js';

export type Stack = Awaited<ReturnType<typeof startLocalStack>>;

/**
 * A local stack for one test file (handlers read config once per module registry), with the
 * poller off so tests drive the sync handler with real SQSEvents, plus small callers.
 */
export async function testStack(caldavServerUrl: string) {
  const stack = await startLocalStack({ port: 0, persist: false, poll: false, dataDir: mkdtempSync(join(tmpdir(), 'stack-')), caldavServerUrl });
  const api = async (method: string, account: string, body?: unknown) => {
    const res = await fetch(`${stack.url}/integrations/apple-calendar`, {
      method,
      headers: { authorization: `Bearer ${await stack.token(account)}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, headers: res.headers, body: (res.status === 204 ? undefined : await res.json()) as any };
  };
  const sync = async (bodies: unknown[]) => (await stack.syncHandler(sqsEvent(bodies), {} as never)) as SQSBatchResponse;
  return { stack, api, sync };
}
