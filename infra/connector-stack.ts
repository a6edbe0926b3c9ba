// The whole Apple Calendar connector in one stack: data (table and key), the dashboard's
// HTTP API, the booking-sync consumer and its alarms.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { Alarms } from './constructs/alarms.js';
import { Api } from './constructs/api.js';
import { BookingSync, SWEEP_SERVICE_NAME, SYNC_SERVICE_NAME } from './constructs/booking-sync.js';
import { Data } from './constructs/data.js';
import { HostChanges } from './constructs/host-changes.js';
import type { ConnectorSettings } from './settings.js';

export interface ConnectorStackProps extends StackProps {
  readonly settings: ConnectorSettings;
}

export class ConnectorStack extends Stack {
  readonly data: Data;
  readonly api: Api;
  readonly bookingSync: BookingSync;
  readonly hostChanges: HostChanges;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: ConnectorStackProps) {
    super(scope, id, {
      description: 'Apple Calendar (iCloud CalDAV) connector: HTTP API, booking sync, data',
      ...props,
    });
    const { settings } = props;

    this.data = new Data(this, 'Data', { retainData: settings.retainData, activeIndex: settings.activeIndex });

    this.api = new Api(this, 'Api', {
      data: this.data,
      jwtIssuer: settings.jwtIssuer,
      jwtAudience: settings.jwtAudience,
      dashboardOrigin: settings.dashboardOrigin,
      caldavServerUrl: settings.caldavServerUrl,
      ...(settings.caldavAllowedHosts ? { caldavAllowedHosts: settings.caldavAllowedHosts } : {}),
      connectReservedConcurrency: settings.connectReservedConcurrency,
      retainLogs: settings.retainData,
      ...(settings.producerPrincipalArn && /:role\//.test(settings.producerPrincipalArn) ? { busyReaderRoleArn: settings.producerPrincipalArn } : {}),
    });
    this.bookingSync = new BookingSync(this, 'BookingSync', {
      data: this.data,
      caldavServerUrl: settings.caldavServerUrl,
      attendeeMode: settings.attendeeMode,
      retainLogs: settings.retainData,
      ...(settings.producerPrincipalArn ? { producerPrincipalArn: settings.producerPrincipalArn } : {}),
    });
    this.hostChanges = new HostChanges(this, 'HostChanges', {
      data: this.data,
      bookingSync: this.bookingSync,
      retainLogs: settings.retainData,
      // The same setting as the internal busy route: the booking service's role.
      ...(settings.producerPrincipalArn && /:role\//.test(settings.producerPrincipalArn) ? { consumerRoleArn: settings.producerPrincipalArn } : {}),
    });
    // Sync sends the credentials too: to the same trusted hosts.
    if (settings.caldavAllowedHosts) this.bookingSync.sync.function.addEnvironment('CALDAV_ALLOWED_HOSTS', settings.caldavAllowedHosts.join(','));

    // Connect puts the changes held while a password was rejected back on the booking-events
    // queue, in the account's group (send only: it never receives, never writes to calendars).
    this.api.connect.function.addEnvironment('QUEUE_URL', this.bookingSync.queue.queueUrl);
    iam.Grant.addToPrincipal({ grantee: this.api.connect.role, actions: ['sqs:SendMessage'], resourceArns: [this.bookingSync.queue.queueArn] });

    this.alarms = new Alarms(this, 'Alarms', {
      deadLetterQueue: this.bookingSync.deadLetterQueue,
      syncFunction: this.bookingSync.sync.function,
      syncServiceName: SYNC_SERVICE_NAME,
      sweepServiceName: SWEEP_SERVICE_NAME,
      ...(settings.alarmTopicArn ? { alarmTopicArn: settings.alarmTopicArn } : {}),
    });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the HTTP API; the dashboard calls <ApiUrl>integrations/apple-calendar',
      value: this.api.url,
    });
    new CfnOutput(this, 'BookingEventsQueueUrl', {
      description: 'Where the booking service sends booking events (SQS SendMessage QueueUrl)',
      value: this.bookingSync.queue.queueUrl,
    });
    new CfnOutput(this, 'BookingEventsQueueArn', {
      description: 'ARN of the booking-events queue, for the booking service role policy (sqs:SendMessage)',
      value: this.bookingSync.queue.queueArn,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: 'Booking events that could not be applied; inspect and redrive from here',
      value: this.bookingSync.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'CalendarChangesQueueUrl', {
      description: 'Where the booking service receives the host changes made in Apple Calendar (calendar-changes.fifo)',
      value: this.hostChanges.queue.queueUrl,
    });
    new CfnOutput(this, 'CalendarChangesQueueArn', {
      description: 'ARN of the calendar-changes queue, for the booking service role policy (sqs:ReceiveMessage, sqs:DeleteMessage)',
      value: this.hostChanges.queue.queueArn,
    });
    new CfnOutput(this, 'CredentialsKeyArn', {
      description: 'KMS key that encrypts the stored app-specific passwords',
      value: this.data.key.keyArn,
    });
    new CfnOutput(this, 'TableName', {
      description: 'DynamoDB table of connections and held booking changes',
      value: this.data.table.tableName,
    });
  }

  /** Lets a principal defined in CDK (e.g. the booking service's role) read busy times (internal route, IAM). */
  grantReadBusy(grantee: iam.IGrantable): iam.Grant {
    return this.api.grantReadBusy(grantee);
  }

  /** Lets a principal defined in CDK (e.g. the booking service's role) receive host changes. */
  grantConsumeCalendarChanges(grantee: iam.IGrantable): iam.Grant {
    return this.hostChanges.grantConsume(grantee);
  }

  /** Lets a principal defined in CDK (e.g. the booking service's role) send booking events. */
  grantSendBookingEvents(grantee: iam.IGrantable): iam.Grant {
    return this.bookingSync.grantSend(grantee);
  }
}
