import { readConfig } from '../shared/config.js';
import { createDetailsHandler } from './handlers/details.js';
import { platformFrom } from './lib/platform.js';

/** Lambda entry point: config read once, clients made once per container. */
export const handler = createDetailsHandler(platformFrom(readConfig()));
