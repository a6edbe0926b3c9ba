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

import { METRICS_NAMESPACE, SWEEP_METRICS, SYNC_METRICS, type SweepMetric, type SyncMetric } from '../../functions/lib/metrics.js';

export { METRICS_NAMESPACE };

export interface AlarmsProps {
  readonly deadLetterQueue: sqs.IQueue;
  readonly syncFunction: lambda.IFunction;
  /** `service` dimension of the sync metrics. */
  readonly syncServiceName: string;
  /** `service` dimension of the sweeper's metrics. */
  readonly sweepServiceName: string;
  /** Optional SNS topic that receives ALARM and OK notifications. */
  readonly alarmTopicArn?: string;
}

export class Alarms extends Construct {
  readonly deadLetterQueueNotEmpty: cloudwatch.Alarm;
  readonly syncErrors: cloudwatch.Alarm;
  readonly credentialsRejected: cloudwatch.Alarm;
  readonly eventsRejected: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);

    const metric = (service: string) => (metricName: SyncMetric | SweepMetric): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service },
        statistic: cloudwatch.Stats.SUM,
        period,
      });
    const syncOutcome = metric(props.syncServiceName);
    const sweepOutcome = metric(props.sweepServiceName);

    this.deadLetterQueueNotEmpty = new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
      alarmDescription:
        'Booking events are in the dead-letter queue: messages that can never be valid (not JSON, wrong shape, ' +
        'end before start), each with its rejectedReason attribute. Valid changes never go there (the sweeper ' +
        're-drives them). Fix the producer; redriving them would only fail again.',
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

    this.eventsRejected = new cloudwatch.Alarm(this, 'EventsRejected', {
      alarmDescription:
        'The calendar server refused booking changes for good (e.g. 400 for the event): they are recorded on the ' +
        'booking (failedChanges in the details, lastSync event_rejected) and not retried until the booking ' +
        'changes or the account reconnects. Check the sync logs for the status and the booking.',
      metric: syncOutcome('EventRejected'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const alarms = [this.deadLetterQueueNotEmpty, this.syncErrors, this.credentialsRejected, this.eventsRejected];
    if (props.alarmTopicArn) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
      for (const alarm of alarms) {
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
            left: SYNC_METRICS.map(syncOutcome),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Sweeper (changes re-driven)',
            left: SWEEP_METRICS.map(sweepOutcome),
            width: 8,
          }),
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms,
            width: 8,
          }),
        ],
      ],
    });
  }
}
