import { caldavOptions } from '../shared/config.js';
import { connect } from '../shared/connect.js';
import { parseConnectRequest } from '../shared/connect-request.js';
import { AttemptStore } from '../shared/store/attempts.js';
import { cipherFromConfig } from './lib/cipher.js';
import { httpRoute, json } from './lib/http.js';
import { config, connections, log, table } from './lib/runtime.js';
import { replayHeldChanges } from './lib/replay.js';

const deps = {
  connections,
  attempts: new AttemptStore(table),
  cipher: cipherFromConfig(config),
  caldav: caldavOptions(config),
  log,
  afterConnect: replayHeldChanges,
};

/** POST /integrations/apple-calendar */
export const handler = httpRoute(log, async (accountId, event) => {
  const input = parseConnectRequest(event.body, event.isBase64Encoded);
  const { created, details } = await connect(deps, accountId, input);
  return json(created ? 201 : 200, details);
});
