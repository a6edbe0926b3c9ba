import { readConfig } from '../shared/config.js';
import { createBusyInternalHandler } from './handlers/busy.js';
import { platformFrom } from './lib/platform.js';

/** Lambda entry point: config read once, clients made once per container. */
export const handler = createBusyInternalHandler(platformFrom(readConfig()));
