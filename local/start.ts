import { readLocalSettings } from '../shared/config.js';
import { startLocalStack } from './stack.js';
import { stackOptions } from './stack-settings.js';

/** `npm start`: the connector on this machine. Ctrl-C stops it; data stays in $LOCAL_DATA_DIR. */
const settings = readLocalSettings();
const stack = await startLocalStack(stackOptions(settings));
console.log(
  JSON.stringify({
    level: 'INFO',
    message: 'local stack ready',
    page: `${stack.url}/?user=demo-user`,
    api: `${stack.url}/integrations/apple-calendar`,
    sqsEndpoint: stack.sqsEndpoint,
    queueUrl: stack.queueUrl,
    deadLetterQueueUrl: stack.dlqUrl,
    calendarChangesQueueUrl: stack.changesQueueUrl,
    syncConsumers: stack.consumers.length,
    caldavServer: settings.CALDAV_SERVER_URL,
    dataDir: stack.dataDir,
    token: 'npm run --silent token -- <userId>',
    sampleBooking: 'npm run booking -- <userId> [confirmed|updated|cancelled] [bookingId] [sequence]',
  }),
);
const shutdown = async () => {
  await stack.stop();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
