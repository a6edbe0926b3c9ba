// What someone running the connector is told about: messages given up in the dead-letter
// queue, the sync function failing, and users whose Apple credentials stopped working.
// The sync outcomes come from the sync code as EMF metrics (namespace AppleCalendarConnector,
// dimension service=apple-calendar-sync); a dashboard shows them next to the alarms.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export const METRICS_NAMESPACE = 'AppleCalendarConnector';
export const SYNC_OUTCOMES = ['SyncOk', 'SyncFailed', 'CredentialsRejected'] as const;
/** Also emitted by the sync code: changes put back on the queue to be tried again. */
export const SYNC_RETRIED = 'SyncRetried' as const;
export type SyncOutcome = (typeof SYNC_OUTCOMES)[number] | typeof SYNC_RETRIED;

export interface AlarmsProps {
  readonly deadLetterQueue: sqs.IQueue;
  readonly syncFunction: lambda.IFunction;
  /** `service` dimension of the sync metrics. */
  readonly syncServiceName: string;
  /** Optional SNS topic that receives ALARM and OK notifications. */
  readonly alarmTopicArn?: string;
}

export class Alarms extends Construct {
  readonly deadLetterQueueNotEmpty: cloudwatch.Alarm;
  readonly syncErrors: cloudwatch.Alarm;
  readonly credentialsRejected: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);

    const syncOutcome = (metricName: SyncOutcome): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: props.syncServiceName },
        statistic: cloudwatch.Stats.SUM,
        period,
      });

    this.deadLetterQueueNotEmpty = new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
      alarmDescription:
        'Booking events are in the dead-letter queue: invalid messages or changes given up after retries. ' +
        'Inspect them, fix the cause, then redrive them to the booking-events queue.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.syncErrors = new cloudwatch.Alarm(this, 'SyncErrors', {
      alarmDescription:
        'The sync function failed whole invocations (per-message failures are retried and do not count here): ' +
        'check its logs and traces.',
      metric: props.syncFunction.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.credentialsRejected = new cloudwatch.Alarm(this, 'CredentialsRejected', {
      alarmDescription:
        'The CalDAV server rejected stored credentials (revoked app-specific password or locked Apple ID): ' +
        'those users see status "error" and must reconnect; their changes are held until then. ' +
        'Many at once can mean the CalDAV server is rejecting logins in general.',
      metric: syncOutcome('CredentialsRejected'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.alarmTopicArn) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
      for (const alarm of [this.deadLetterQueueNotEmpty, this.syncErrors, this.credentialsRejected]) {
        alarm.addAlarmAction(new actions.SnsAction(topic));
        alarm.addOkAction(new actions.SnsAction(topic));
      }
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(1),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Sync outcomes',
            left: [...SYNC_OUTCOMES, SYNC_RETRIED].map((name: SyncOutcome) => syncOutcome(name)),
            width: 12,
          }),
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: [this.deadLetterQueueNotEmpty, this.syncErrors, this.credentialsRejected],
            width: 12,
          }),
        ],
      ],
    });
  }
}
