// The booking-sync consumer: the FIFO booking-events queue the booking service sends to (one
// message group per account: one writer per account), its dead-letter queue, the sync
// function that writes each change to the user's calendar, and the sweeper that re-drives
// every change whose retry is due or that is not yet written (every minute), so none is lost
// to exhausted retries and a booking's retry never holds back its account's other bookings.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SYNC_DEFAULTS } from '../../shared/config.js';
import type { AttendeeMode } from '../settings.js';
import { ConnectorFunction } from './connector-function.js';
import type { Data } from './data.js';

export const SYNC_SERVICE_NAME = 'apple-calendar-sync';
export const SWEEP_SERVICE_NAME = 'apple-calendar-sweeper';
export const SYNC_TIMEOUT = Duration.seconds(SYNC_DEFAULTS.syncTimeoutSeconds);
/** Receives before a message goes to the dead-letter queue (the sync hands valid changes to the sweeper first). */
export const MAX_RECEIVE_COUNT = SYNC_DEFAULTS.maxReceiveCount;
/** How often the sweeper runs; it re-drives changes not written for that long. */
export const SWEEP_INTERVAL = Duration.seconds(SYNC_DEFAULTS.sweepIntervalSeconds);

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
}

export class BookingSync extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly sync: ConnectorFunction;
  readonly sweeper: ConnectorFunction;

  constructor(scope: Construct, id: string, props: BookingSyncProps) {
    super(scope, id);
    const { data } = props;

    // SQS-managed encryption (SSE-SQS): encrypted at rest without a key policy to manage,
    // and a booking service in another account can send with nothing but the queue policy.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.queue = new sqs.Queue(this, 'BookingEvents', {
      fifo: true,
      contentBasedDeduplication: true,
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
        RETRY_BASE_SECONDS: String(SYNC_DEFAULTS.retryBaseSeconds),
        SWEEP_INTERVAL_SECONDS: String(SWEEP_INTERVAL.toSeconds()),
        MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
      },
    });
    // What sync uses: GetItem (connection, booking record), BatchGetItem (the connections of a
    // batch's accounts, read together) and UpdateItem (desired and applied state, retries,
    // refusals, lastSync, re-discovered calendar). No Put/Delete/Query: the sweeper queries
    // pending changes and deletes orphans, with its own grants.
    data.grantTable(this.sync.role, ['BatchGetItem', 'GetItem', 'UpdateItem']);
    data.grantDecrypt(this.sync.role);
    // Invalid messages are sent straight to the dead-letter queue.
    iam.Grant.addToPrincipal({
      grantee: this.sync.role,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.deadLetterQueue.queueArn],
    });

    // Receive/Delete/ChangeMessageVisibility (to honour Retry-After) on the queue come with
    // the event source. Two invocations at a time, ten messages each; the FIFO queue never has
    // two batches of one account (message group) in flight, so each Apple ID has one writer
    // and is paced, and one busy account can't starve the others. (FIFO event sources take no
    // batching window.)
    this.sync.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize ?? 10,
        maxConcurrency: props.maxConcurrency ?? 2,
        reportBatchItemFailures: true,
      }),
    );

    this.sweeper = new ConnectorFunction(this, 'Sweeper', {
      name: 'sweep',
      description: 'Every minute: re-drives booking changes whose retry is due or not yet in the calendar on the booking-events queue',
      timeout: Duration.minutes(2),
      serviceName: SWEEP_SERVICE_NAME,
      retainLogs: props.retainLogs,
      environment: {
        TABLE_NAME: data.table.tableName,
        QUEUE_URL: this.queue.queueUrl,
        SWEEP_INTERVAL_SECONDS: String(SWEEP_INTERVAL.toSeconds()),
      },
    });
    // The sparse pending index (Query), connections (GetItem), postponing re-driven changes
    // (UpdateItem) and deleting changes of connections that are gone (DeleteItem). No KMS.
    data.grantTable(this.sweeper.role, ['GetItem', 'UpdateItem', 'DeleteItem']);
    data.grantPendingIndexQuery(this.sweeper.role);
    this.queue.grantSendMessages(this.sweeper.role);
    new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the booking-change sweeper',
      schedule: events.Schedule.rate(SWEEP_INTERVAL),
      targets: [new targets.LambdaFunction(this.sweeper.function, { retryAttempts: 0 })],
    });

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
