import { startLocalStack } from './stack.js';

/** `npm start`: the connector on this machine. Ctrl-C stops it; data stays in $LOCAL_DATA_DIR. */
const stack = await startLocalStack({ port: Number(process.env.PORT ?? 3000), sqsPort: Number(process.env.SQS_PORT ?? 9324) });
console.log(
  JSON.stringify({
    level: 'INFO',
    message: 'local stack ready',
    page: `${stack.url}/?user=demo-user`,
    api: `${stack.url}/integrations/apple-calendar`,
    sqsEndpoint: stack.sqsEndpoint,
    queueUrl: stack.queueUrl,
    deadLetterQueueUrl: stack.dlqUrl,
    caldavServer: process.env.CALDAV_SERVER_URL ?? 'https://caldav.icloud.com',
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
