import type { DavCredentials } from '../../shared/caldav/transport.js';
import type { Connection } from '../../shared/store/connections.js';
import { replayPending } from '../../shared/sync/sync-batch.js';
import { syncDeps } from './sync-runtime.js';

/**
 * After a (re)connect: writes the booking changes held while the previous password was
 * rejected, with the password the person just entered (connect never needs to decrypt).
 */
export const replayHeldChanges = (connection: Connection, credentials: DavCredentials) => replayPending(syncDeps, connection, credentials);
