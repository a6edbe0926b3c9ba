import { appleIdMacFromConfig } from '../../shared/connection/apple-id-mac.js';
import { BookingQueue } from '../../shared/booking/booking-queue.js';
import { caldavOptions } from '../../shared/config.js';
import { connect, type ConnectionDeps } from '../../shared/connection/connect.js';
import { parseConnectRequest } from '../../shared/connection/connect-request.js';
import { detailsOf } from '../../shared/connection/details.js';
import { deadlineFrom } from '../../shared/connection/deadline.js';
import { AttemptStore, CONNECT_LIMIT } from '../../shared/store/attempts.js';
import { BookingStore } from '../../shared/store/bookings.js';
import { ConnectionStore, type Connection } from '../../shared/store/connections.js';
import { appleIdKey } from '../../shared/store/table.js';
import { requeueUnsettled } from '../../shared/sync/requeue.js';
import { httpRoute, json } from '../lib/http.js';
import type { Platform } from '../lib/platform.js';

/** POST /integrations/apple-calendar */
export function createConnectHandler(p: Platform) {
  const { config, log } = p;
  const bookings = new BookingStore(p.table, () => p.now().getTime(), config.SWEEP_INTERVAL_SECONDS * 1000);
  const queue = config.QUEUE_URL ? new BookingQueue(p.sqs, config.QUEUE_URL) : undefined;
  const deps: ConnectionDeps = {
    connections: new ConnectionStore(p.table),
    cipher: p.cipher(),
    // Rejected logins limited per account and per Apple ID (a keyed hash of it), across accounts.
    limits: { accounts: new AttemptStore(p.table), appleIds: new AttemptStore(p.table, CONNECT_LIMIT, Date.now, appleIdKey), mac: appleIdMacFromConfig(config) },
    caldav: { ...caldavOptions(config), fetch: p.fetch },
    log,
    now: p.now,
    // Held changes go back on the queue, to the account's one sync writer.
    ...(queue ? { afterConnect: (connection: Connection) => requeueUnsettled({ bookings, queue, log }, connection) } : {}),
    details: (connection) => detailsOf({ bookings }, connection),
  };
  return httpRoute(log, async (accountId, event, context) => {
    const input = parseConnectRequest(event.body, event.isBase64Encoded);
    // Every budget comes from the time the Lambda has left.
    const { created, details } = await connect(deps, accountId, input, { deadline: deadlineFrom(context?.getRemainingTimeInMillis?.()) });
    return json(created ? 201 : 200, details);
  });
}
