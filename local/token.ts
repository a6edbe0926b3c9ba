import { resolve } from 'node:path';
import { readLocalSettings } from '../shared/config.js';
import { localJwt } from './jwt.js';

/**
 * `npm run --silent token -- <userId>` prints a token for that account on the local stack;
 * `npm run --silent token -- --service` the booking service's token for the internal routes.
 */
const userId = process.argv[2];
if (!userId) {
  console.error('usage: npm run --silent token -- <userId> | --service');
  process.exit(2);
}
const dataDir = resolve(readLocalSettings().LOCAL_DATA_DIR);
const jwt = localJwt(dataDir);
console.log(userId === '--service' ? await jwt.signService() : await jwt.sign(userId));
