import { SQSClient } from '@aws-sdk/client-sqs';
import { config } from './runtime.js';

/** The SQS client of this container (the local stack points it at its own queue). */
export const sqs = new SQSClient({ endpoint: config.SQS_ENDPOINT });
