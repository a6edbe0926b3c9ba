import { resolve } from 'node:path';
import { readLocalSettings } from '../shared/config.js';
import { localJwt } from './jwt.js';

/** `npm run --silent token -- <userId>` prints a token for that account on the local stack. */
const userId = process.argv[2];
if (!userId) {
  console.error('usage: npm run --silent token -- <userId>');
  process.exit(2);
}
const dataDir = resolve(readLocalSettings().LOCAL_DATA_DIR);
console.log(await localJwt(dataDir).sign(userId));
