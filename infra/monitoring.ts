/**
 * What tells operators something is wrong: an alarm for each row of `shared/alarms.ts`, notifying an
 * SNS topic (an address subscribed with `-c prisme:alarmEmail=...`), and a dashboard that follows an
 * event through the system: ingest, the queue, the processor, memberships, snapshots, the freeze and
 * the sweep. Built from the same metric names the handlers write (`shared/contracts/metrics.ts`).
 */
import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ALARMS, type AlarmDefinition, type AlarmId, type AlarmSource } from '#shared/alarms';
import { METRICS, METRICS_NAMESPACE, type MetricId } from '#shared/contracts/metrics';
import { assertUnreachable } from '#shared/domain/assert-unreachable';
import type { FunctionName } from '#shared/functions';
import type { QueueName } from '#shared/resources';
import type { PrismeFunction } from './prisme-function';

export interface MonitoringProps {
  functions: Record<FunctionName, PrismeFunction>;
  queues: Record<QueueName, Queue>;
  api: HttpApi;
  /** Subscribed to the alarm topic; confirmed from the mail AWS sends. */
  alarmEmail?: string;
}

export class PrismeMonitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Record<AlarmId, Alarm>;
  readonly dashboard: Dashboard;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: MonitoringProps,
  ) {
    super(scope, id);
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key: a key of our own lets it.
    const key = new Key(this, 'AlarmTopicKey', { enableKeyRotation: true, description: 'Prisme alarm notifications' });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'Prisme alarms', masterKey: key, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const action = new SnsAction(this.topic);
    this.alarms = Object.fromEntries(
      (Object.entries(ALARMS) as Array<[AlarmId, AlarmDefinition]>).map(([alarmId, definition]) => {
        const alarm = new Alarm(this, alarmId, {
          alarmName: `prisme-${alarmId}`,
          alarmDescription: `${definition.title}. ${definition.reason} Runbook: docs/operations.md#${alarmId.toLowerCase()}`,
          metric: this.metricOf(definition.source, definition.statistic, Duration.minutes(definition.periodMinutes)),
          threshold: definition.threshold,
          evaluationPeriods: definition.periods,
          comparisonOperator:
            definition.comparison === 'atLeast'
              ? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
              : ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: 'missingIsBreaching' in definition ? TreatMissingData.BREACHING : TreatMissingData.NOT_BREACHING,
        });
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
        return [alarmId, alarm];
      }),
    ) as Record<AlarmId, Alarm>;

    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: 'prisme' });
    this.dashboard.addWidgets(...this.flowWidgets());
  }

  private metricOf(source: AlarmSource, statistic: string, period: Duration): Metric {
    switch (source.kind) {
      case 'prisme':
        return this.prismeMetric(source.metric, { service: source.service, ...source.dimensions }, statistic, period);
      case 'queue':
        return this.props.queues[source.queue].metric(source.metric, { statistic, period });
      case 'function':
        return this.props.functions[source.function].fn.metric(source.metric, { statistic, period });
      case 'api':
        return this.props.api.metricServerError({ statistic, period });
      default:
        return assertUnreachable(source);
    }
  }

  private prismeMetric(metric: MetricId, dimensions: Record<string, string>, statistic: string, period = Duration.minutes(5)): Metric {
    const { name } = METRICS[metric];
    return new Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: dimensions, statistic, period });
  }

  /** Every dimension value of a metric split by one (sources, reasons, statuses), summed or each on its own line. */
  private searched(metric: MetricId, service: FunctionName, statistic: string, label: string): IMetric {
    const { name, dimensions } = METRICS[metric];
    const keys = ['service', ...dimensions].join(',');
    return new MathExpression({
      expression: `SEARCH('{${METRICS_NAMESPACE},${keys}} MetricName="${name}" service="${service}"', '${statistic}', 300)`,
      label,
      period: Duration.minutes(5),
    });
  }

  private flowWidgets() {
    const f = this.props.functions;
    const q = this.props.queues;
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) => new GraphWidget({ title, left, right, width: 8, height: 6 });
    const lag = (stat: string) => this.prismeMetric('processingLag', { service: 'processor' }, stat);
    return [
      new TextWidget({
        markdown:
          '# Prisme\nAn event from left to right: ingest, the queue, the processor, memberships; then snapshots, the freeze and the sweep. Alarms: docs/operations.md.',
        width: 24,
        height: 2,
      }),
      graph(
        'Ingest: events accepted, rejected; requests refused',
        [
          this.searched('eventsAccepted', 'ingest', 'Sum', 'accepted'),
          this.searched('eventsRejected', 'ingest', 'Sum', 'rejected'),
          this.searched('requestsRefused', 'ingest', 'Sum', 'refused'),
        ],
        [this.props.api.metricServerError({ period: Duration.minutes(5) })],
      ),
      graph(
        'Queue: waiting, age of the oldest, dead letters',
        [
          q.events.metric('ApproximateNumberOfMessagesVisible', { statistic: 'Maximum' }),
          q.deadLetter.metric('ApproximateNumberOfMessagesVisible', { statistic: 'Maximum' }),
        ],
        [q.events.metric('ApproximateAgeOfOldestMessage', { statistic: 'Maximum' })],
      ),
      graph(
        'Processor: events processed, lag p50 / p95 / max (ms)',
        [this.prismeMetric('eventsProcessed', { service: 'processor' }, 'Sum')],
        [lag('p50'), lag('p95'), lag('Maximum')],
      ),
      graph('Processor: errors, throttles, parked', [
        f.processor.fn.metricErrors({ period: Duration.minutes(5) }),
        f.processor.fn.metricThrottles({ period: Duration.minutes(5) }),
        this.searched('parked', 'processor', 'Sum', 'parked'),
      ]),
      graph('Memberships: changes, merges, erasures', [
        this.prismeMetric('membershipChanges', { service: 'processor' }, 'Sum'),
        this.prismeMetric('membershipChanges', { service: 'sweep' }, 'Sum'),
        this.prismeMetric('profilesMerged', { service: 'processor' }, 'Sum'),
        this.prismeMetric('profilesErased', { service: 'processor' }, 'Sum'),
      ]),
      graph(
        'Snapshots: runs by status, rows published',
        [this.searched('snapshotRuns', 'snapshot', 'Sum', 'runs')],
        [this.prismeMetric('snapshotRows', { service: 'snapshot' }, 'Sum')],
      ),
      graph(
        'Freeze: runs by status, duration (ms), profiles',
        [this.searched('freezeRuns', 'freeze', 'Sum', 'runs')],
        [
          this.prismeMetric('freezeDuration', { service: 'freeze' }, 'Maximum'),
          this.prismeMetric('freezeProfiles', { service: 'freeze' }, 'Sum'),
        ],
      ),
      graph(
        'Time sweep: profiles due, seconds behind',
        [this.prismeMetric('sweepDueProfiles', { service: 'sweep' }, 'Sum')],
        [this.prismeMetric('sweepLag', { service: 'sweep' }, 'Maximum')],
      ),
    ];
  }
}
