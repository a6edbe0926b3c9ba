import type { DavCredentials } from '../../shared/caldav/transport.js';
import { BookingQueue } from '../../shared/booking-queue.js';
import type { Connection } from '../../shared/store/connections.js';
import { replayHeld } from '../../shared/sync/replay.js';
import { sqs } from './queue.js';
import { config } from './runtime.js';
import { syncDeps } from './sync-runtime.js';

/**
 * How long connect writes held changes itself before handing the rest to the queue. Each
 * write has its own CALDAV_TIMEOUT_MS; the function has 28 s and discovery came first.
 */
export const REPLAY_BUDGET_MS = 8_000;

const queue = config.QUEUE_URL ? new BookingQueue(sqs, config.QUEUE_URL) : undefined;
const deps = {
  ...syncDeps,
  requeue: async (events: Parameters<BookingQueue['send']>[0]) => {
    if (!queue) throw new Error('QUEUE_URL is not set');
    await queue.send(events, 'connect-replay');
  },
};

/**
 * After a (re)connect: writes the booking changes held while the previous password was
 * rejected, with the password the person just entered (connect never needs to decrypt);
 * what doesn't fit in the budget or fails for now goes back on the queue.
 */
export const replayHeldChanges = (connection: Connection, credentials: DavCredentials) => replayHeld(deps, connection, credentials, REPLAY_BUDGET_MS);
