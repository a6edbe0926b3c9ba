// The booking-sync consumer: the booking-events queue the booking service sends to, its
// dead-letter queue, and the sync function that writes each change to the user's calendar.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AttendeeMode } from '../settings.js';
import { ConnectorFunction } from './connector-function.js';
import type { Data } from './data.js';

export const SYNC_SERVICE_NAME = 'apple-calendar-sync';
export const SYNC_TIMEOUT = Duration.seconds(60);
/** Receives before a message goes to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;

export interface BookingSyncProps {
  readonly data: Data;
  readonly caldavServerUrl: string;
  readonly attendeeMode: AttendeeMode;
  readonly retainLogs: boolean;
  /** Booking service role/user ARN that may send to the queue (a queue policy statement). */
  readonly producerPrincipalArn?: string;
  /** Concurrent sync invocations at most (2 is the least SQS allows). @default 2 */
  readonly maxConcurrency?: number;
  /** @default 10 */
  readonly batchSize?: number;
  /** @default 5 seconds */
  readonly maxBatchingWindow?: Duration;
}

export class BookingSync extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly sync: ConnectorFunction;

  constructor(scope: Construct, id: string, props: BookingSyncProps) {
    super(scope, id);
    const { data } = props;

    // SQS-managed encryption (SSE-SQS): encrypted at rest without a key policy to manage,
    // and a booking service in another account can send with nothing but the queue policy.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.queue = new sqs.Queue(this, 'BookingEvents', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's rule for SQS event sources: at least 6 x the function timeout, so that a
      // batch still being retried inside the function is not handed out a second time.
      visibilityTimeout: Duration.seconds(SYNC_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.sync = new ConnectorFunction(this, 'Sync', {
      name: 'sync',
      description: 'Writes booking changes from the booking-events queue to the connected Apple Calendar',
      timeout: SYNC_TIMEOUT,
      serviceName: SYNC_SERVICE_NAME,
      retainLogs: props.retainLogs,
      environment: {
        TABLE_NAME: data.table.tableName,
        KMS_KEY_ID: data.key.keyArn,
        CALDAV_SERVER_URL: props.caldavServerUrl,
        ATTENDEE_MODE: props.attendeeMode,
        QUEUE_URL: this.queue.queueUrl,
        DLQ_URL: this.deadLetterQueue.queueUrl,
        POWERTOOLS_METRICS_NAMESPACE: 'AppleCalendarConnector',
      },
    });
    // What sync uses today: GetItem (connection, booking record) and UpdateItem (desired and
    // applied state, lastSync, re-discovered calendar). No Put/Delete/Query: a sweeper that
    // queries pending changes adds Query with itself.
    data.grantTable(this.sync.role, ['GetItem', 'UpdateItem']);
    data.grantDecrypt(this.sync.role);
    // Invalid messages are sent straight to the dead-letter queue.
    iam.Grant.addToPrincipal({
      grantee: this.sync.role,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.deadLetterQueue.queueArn],
    });

    // Receive/Delete/ChangeMessageVisibility (to honour Retry-After) on the queue come with
    // the event source. Two invocations at a time, ten messages each: a burst of bookings
    // reaches iCloud at a steady pace instead of all at once.
    this.sync.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize ?? 10,
        maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(5),
        maxConcurrency: props.maxConcurrency ?? 2,
        reportBatchItemFailures: true,
      }),
    );

    if (props.producerPrincipalArn) {
      this.grantSend(new iam.ArnPrincipal(props.producerPrincipalArn));
    }
  }

  /**
   * Lets the booking service send booking events: to a principal of this stack this adds an
   * identity policy, to an ARN principal (e.g. a role in another account) a queue policy.
   */
  grantSend(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }
}
