import { readConfig } from '../shared/config.js';
import { createChooseCalendarsHandler } from './handlers/choose-calendars.js';
import { platformFrom } from './lib/platform.js';

/** Lambda entry point: config read once, clients made once per container. */
export const handler = createChooseCalendarsHandler(platformFrom(readConfig()));
