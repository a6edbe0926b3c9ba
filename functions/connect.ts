import { caldavOptions } from '../shared/config.js';
import { appleIdMacFromConfig } from '../shared/apple-id-mac.js';
import { connect } from '../shared/connect.js';
import { parseConnectRequest } from '../shared/connect-request.js';
import { deadlineFrom } from '../shared/deadline.js';
import { AttemptStore, CONNECT_LIMIT } from '../shared/store/attempts.js';
import { appleIdKey } from '../shared/store/table.js';
import { cipherFromConfig } from './lib/cipher.js';
import { httpRoute, json } from './lib/http.js';
import { config, connections, log, table } from './lib/runtime.js';
import { replayHeldChanges } from './lib/replay.js';

const deps = {
  connections,
  cipher: cipherFromConfig(config),
  limits: { accounts: new AttemptStore(table), appleIds: new AttemptStore(table, CONNECT_LIMIT, Date.now, appleIdKey), mac: appleIdMacFromConfig(config) },
  caldav: caldavOptions(config),
  log,
  afterConnect: replayHeldChanges,
};

/** POST /integrations/apple-calendar */
export const handler = httpRoute(log, async (accountId, event, context) => {
  const input = parseConnectRequest(event.body, event.isBase64Encoded);
  const { created, details } = await connect(deps, accountId, input, { deadline: deadlineFrom(context?.getRemainingTimeInMillis?.()) });
  return json(created ? 201 : 200, details);
});
