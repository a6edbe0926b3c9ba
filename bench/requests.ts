// CalDAV requests per operation, counted at the proxy in front of Radicale (what the server
// received, not what our code believes it sent). Sync operations go through the real SQS
// handler with real SQSEvents, one message per event, in steady state: the container is warm
// (one booking synced first) and the account is connected.
import { bookingEvent, sqsEvent } from '../test/harness/bookings.js';
import { userFor, type World } from './world.js';

export interface RequestCounts {
  connect: number;
  create: number;
  update: number;
  cancel: number;
  redelivered: number;
}

export interface RequestsResult {
  counts: RequestCounts;
  /** What the server saw for each operation (method and status, per sample). */
  detail: Record<keyof RequestCounts, string[][]>;
  /** DynamoDB calls the handler made per operation (mean), for the record. */
  dynamoCalls: Record<keyof RequestCounts, number>;
  samples: number;
  problems: string[];
}

export async function measureRequests(world: World, opts: { accountId: string; user: string; samples: number }): Promise<RequestsResult> {
  const sync = world.stack.syncHandler;
  const problems: string[] = [];
  const detail: RequestsResult['detail'] = { connect: [], create: [], update: [], cancel: [], redelivered: [] };
  const dynamo: Record<keyof RequestCounts, number[]> = { connect: [], create: [], update: [], cancel: [], redelivered: [] };

  await world.resetStats();
  const connected = await world.connect(opts.accountId, userFor(opts.user));
  dynamo.connect.push(world.dynamo.calls);
  if (connected.status !== 201) problems.push(`connect answered ${connected.status}, expected 201`);
  detail.connect.push(connected.requests);

  const deliver = async (op: keyof RequestCounts, body: unknown) => {
    await world.resetStats();
    const res = await sync(sqsEvent([body]));
    dynamo[op].push(world.dynamo.calls);
    const failures = res.batchItemFailures;
    if (failures.length) problems.push(`${op}: the handler reported a batch item failure`);
    const seen = (await world.proxy.requests()).map((r) => `${r.method} ${r.status}`);
    if (seen.some((s) => !/ 2\d\d$/.test(s))) problems.push(`${op}: unexpected status in ${seen.join(', ')}`);
    detail[op].push(seen);
  };

  // Warm the container: the first sync of an account decrypts its password (no CalDAV request).
  await deliver('create', bookingEvent('confirmed', opts.accountId, 'bk_warmup', 0));
  detail.create.length = 0;
  dynamo.create.length = 0;

  const ids = Array.from({ length: opts.samples }, (_, i) => `bk_req_${i}`);
  const confirmations = ids.map((id, i) => bookingEvent('confirmed', opts.accountId, id, 0, { start: slot(i, 0), end: slot(i, 30) }));
  for (const body of confirmations) await deliver('create', body);
  for (const body of confirmations) await deliver('redelivered', body);
  for (const [i, id] of ids.entries()) await deliver('update', bookingEvent('updated', opts.accountId, id, 1, { title: `Moved ${id}`, start: slot(i, 60), end: slot(i, 90) }));
  for (const id of ids) await deliver('cancel', bookingEvent('cancelled', opts.accountId, id, 2));

  const mean = (runs: string[][]) => runs.reduce((n, r) => n + r.length, 0) / Math.max(1, runs.length);
  const counts: RequestCounts = {
    connect: mean(detail.connect),
    create: mean(detail.create),
    update: mean(detail.update),
    cancel: mean(detail.cancel),
    redelivered: mean(detail.redelivered),
  };
  const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const dynamoCalls = Object.fromEntries(Object.entries(dynamo).map(([op, xs]) => [op, meanOf(xs)])) as Record<keyof RequestCounts, number>;
  return { counts, detail, dynamoCalls, samples: opts.samples, problems };
}

/** A start time on its own day, so each sample is a distinct event. */
export const slot = (day: number, minutes: number) => new Date(Date.UTC(2027, 0, 4 + day, 9, minutes)).toISOString();
