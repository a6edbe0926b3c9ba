import { startLocalStack } from './stack.js';

/** `npm start`: the connector on this machine. Ctrl-C stops it; data stays in $LOCAL_DATA_DIR. */
const stack = await startLocalStack({ port: Number(process.env.PORT ?? 3000) });
console.log(
  JSON.stringify({
    level: 'INFO',
    message: 'local stack ready',
    api: `${stack.url}/integrations/apple-calendar`,
    caldavServer: process.env.CALDAV_SERVER_URL ?? 'https://caldav.icloud.com',
    dataDir: stack.dataDir,
    token: 'npm run --silent token -- <userId>',
  }),
);
const shutdown = async () => {
  await stack.stop();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
