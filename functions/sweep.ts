import { readConfig } from '../shared/config.js';
import { createSweepHandler } from './handlers/sweep.js';
import { platformFrom } from './lib/platform.js';

/** Lambda entry point: config read once, clients made once per container. */
export const handler = createSweepHandler(platformFrom(readConfig()));
