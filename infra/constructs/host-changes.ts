// Host changes flow back (contract §2b): the FIFO queue `calendar-changes.fifo` the booking
// service receives from, the scheduler that puts one "check" message per active connection
// on the booking-events queue every interval (the sync function runs the checks, in the
// account's message group: one writer per account), and the grants for both.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SYNC_DEFAULTS } from '../../shared/config.js';
import type { BookingSync } from './booking-sync.js';
import { ConnectorFunction } from './connector-function.js';
import type { Data } from './data.js';

export const HOST_CHECKS_SERVICE_NAME = 'apple-calendar-host-checks';
/** How often every active connection is checked for host changes. */
export const HOST_CHANGES_INTERVAL = Duration.seconds(SYNC_DEFAULTS.hostChangesIntervalSeconds);

export interface HostChangesProps {
  readonly data: Data;
  readonly bookingSync: BookingSync;
  readonly retainLogs: boolean;
  /** IAM role ARN of the booking service: may receive from calendar-changes.fifo (a queue policy statement). */
  readonly consumerRoleArn?: string;
}

export class HostChanges extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly scheduler: ConnectorFunction;

  constructor(scope: Construct, id: string, props: HostChangesProps) {
    super(scope, id);
    const { data, bookingSync } = props;

    // The booking service's own dead-letter queue for reports it cannot handle.
    this.deadLetterQueue = new sqs.Queue(this, 'CalendarChangesDeadLetterQueue', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Deduplication by the reporter's id (the same host change, the same id), not by content:
    // two detections of one change differ in detectedAt.
    this.queue = new sqs.Queue(this, 'CalendarChanges', {
      fifo: true,
      contentBasedDeduplication: false,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 10 },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // The sync side runs the checks: it sends the reports (and nothing else may), reads the
    // account's booking records (Query) and keeps its change tokens (PutItem on HOST_CHECK).
    const sync = bookingSync.sync;
    sync.function.addEnvironment('HOST_CHANGES_QUEUE_URL', this.queue.queueUrl);
    sync.function.addEnvironment('HOST_CHANGES_INTERVAL_SECONDS', String(HOST_CHANGES_INTERVAL.toSeconds()));
    iam.Grant.addToPrincipal({ grantee: sync.role, actions: ['sqs:SendMessage'], resourceArns: [this.queue.queueArn] });
    data.grantTable(sync.role, ['Query', 'PutItem']);

    this.scheduler = new ConnectorFunction(this, 'Scheduler', {
      name: 'host-checks',
      description: 'Every 5 minutes: one host-change check message per active connection on the booking-events queue',
      timeout: Duration.minutes(5),
      serviceName: HOST_CHECKS_SERVICE_NAME,
      retainLogs: props.retainLogs,
      environment: {
        TABLE_NAME: data.table.tableName,
        QUEUE_URL: bookingSync.queue.queueUrl,
        HOST_CHANGES_INTERVAL_SECONDS: String(HOST_CHANGES_INTERVAL.toSeconds()),
      },
    });
    // The sparse active index (keys only) and the booking-events queue; no table item, no KMS.
    data.grantActiveIndexQuery(this.scheduler.role);
    iam.Grant.addToPrincipal({ grantee: this.scheduler.role, actions: ['sqs:SendMessage'], resourceArns: [bookingSync.queue.queueArn] });
    new events.Rule(this, 'CheckSchedule', {
      description: 'Schedules the host-change checks',
      schedule: events.Schedule.rate(HOST_CHANGES_INTERVAL),
      targets: [new targets.LambdaFunction(this.scheduler.function, { retryAttempts: 0 })],
    });

    if (props.consumerRoleArn) this.grantConsume(new iam.ArnPrincipal(props.consumerRoleArn));
  }

  /** Lets the booking service receive (and delete) host-change reports. */
  grantConsume(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantConsumeMessages(grantee);
  }
}
