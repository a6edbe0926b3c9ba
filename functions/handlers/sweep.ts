import { BookingQueue } from '../../shared/booking/booking-queue.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { ConnectionStore } from '../../shared/store/connections.js';
import { sweep, type SweepResult } from '../../shared/sync/sweeper.js';
import type { Platform } from '../lib/platform.js';

/** Scheduled (EventBridge, every minute; the local stack on its own timer): re-drives due and unwritten changes. */
export function createSweepHandler(p: Platform): () => Promise<SweepResult> {
  const { config } = p;
  if (!config.QUEUE_URL) throw new Error('Invalid configuration: QUEUE_URL is required by the sweeper');
  const sweepAfterMs = config.SWEEP_INTERVAL_SECONDS * 1000;
  const deps = {
    bookings: new BookingStore(p.table, () => p.now().getTime(), sweepAfterMs),
    connections: new ConnectionStore(p.table),
    queue: new BookingQueue(p.sqs, config.QUEUE_URL),
    log: p.log,
    sweepAfterMs,
    now: p.now,
  };
  return async () => {
    const result = await sweep(deps);
    p.metrics.publish(config.POWERTOOLS_SERVICE_NAME, { SweepRequeued: result.requeued, SweepHeld: result.held, SweepOrphans: result.orphans });
    return result;
  };
}
