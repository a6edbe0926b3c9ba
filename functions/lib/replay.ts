import type { DavCredentials } from '../../shared/caldav/transport.js';
import type { Connection } from '../../shared/store/connections.js';

/** Placeholder until booking sync lands: writes held booking changes after a reconnect. */
export async function replayHeldChanges(_connection: Connection, _credentials: DavCredentials): Promise<void> {}
