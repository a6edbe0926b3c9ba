import { readConfig } from '../shared/config.js';
import { createDisconnectHandler } from './handlers/disconnect.js';
import { platformFrom } from './lib/platform.js';

/** Lambda entry point: config read once, clients made once per container. */
export const handler = createDisconnectHandler(platformFrom(readConfig()));
