import { readConfig } from '../shared/config.js';
import { createHostChecksHandler } from './handlers/host-checks.js';
import { platformFrom } from './lib/platform.js';

/** Lambda entry point: config read once, clients made once per container. */
export const handler = createHostChecksHandler(platformFrom(readConfig()));
