import { readConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import { createTable } from '../../shared/store/table.js';
import { ConnectionStore } from '../../shared/store/connections.js';

/**
 * What every function of this container shares, created once at module scope:
 * validated config, the logger and the DynamoDB table.
 */
export const config = readConfig();
export const log = createLogger();
export const table = createTable(config.TABLE_NAME, { endpoint: config.DYNAMODB_ENDPOINT });
export const connections = new ConnectionStore(table);
