import { readConfig } from '../shared/config.js';
import { createConnectHandler } from './handlers/connect.js';
import { platformFrom } from './lib/platform.js';

/** Lambda entry point: config read once, clients made once per container. */
export const handler = createConnectHandler(platformFrom(readConfig()));
