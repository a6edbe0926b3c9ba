import { readConfig } from '../shared/config.js';
import { createSyncHandler } from './handlers/sync.js';
import { platformFrom } from './lib/platform.js';

/** Lambda entry point: config read once, clients made once per container. */
export const handler = createSyncHandler(platformFrom(readConfig()));
