/**
 * The operators' side of the stack: an alarm for every row of shared/alarms.ts (metric, statistic,
 * threshold, periods, the topic as its action), the encrypted SNS topic and its e-mail subscription,
 * the dashboard that follows an event through the system, and a runbook for each alarm.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#infra/app';
import { ALARMS, type AlarmDefinition } from '#shared/alarms';
import { METRICS, METRICS_NAMESPACE } from '#shared/contracts/metrics';

// Assets are not bundled: these tests read the template, not the code.
const synth = (context: Record<string, unknown> = {}) =>
  Template.fromStack(buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } })).service);

let service: Template;
beforeAll(() => {
  service = synth({ 'prisme:alarmEmail': 'ops@example.com' });
}, 120_000);

type Resource = { Properties: Record<string, any> };
const topicId = () => Object.keys(service.findResources('AWS::SNS::Topic'))[0]!;

describe('alarms', () => {
  it.each(Object.entries(ALARMS) as Array<[string, AlarmDefinition]>)(
    '%s: its metric, threshold and periods, notifying the topic',
    (id, alarm) => {
      const found = Object.values(
        service.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: `prisme-${id}` } }),
      ) as Resource[];
      expect(found).toHaveLength(1);
      const { Properties: p } = found[0]!;
      expect(p.Threshold).toBe(alarm.threshold);
      expect(p.EvaluationPeriods).toBe(alarm.periods);
      expect(p.Period).toBe(alarm.periodMinutes * 60);
      expect(p.Statistic).toBe(alarm.statistic);
      expect(p.ComparisonOperator).toBe(alarm.comparison === 'atLeast' ? 'GreaterThanOrEqualToThreshold' : 'LessThanThreshold');
      expect(p.TreatMissingData).toBe('missingIsBreaching' in alarm ? 'breaching' : 'notBreaching');
      expect(p.AlarmActions).toEqual([{ Ref: topicId() }]);
      expect(p.OKActions).toEqual([{ Ref: topicId() }]);
      expect(p.AlarmDescription).toContain(`docs/operations.md#${id.toLowerCase()}`);
      const dimensions = Object.fromEntries((p.Dimensions as Array<{ Name: string; Value: unknown }>).map((d) => [d.Name, d.Value]));
      const source = alarm.source;
      switch (source.kind) {
        case 'prisme':
          expect([p.Namespace, p.MetricName]).toEqual([METRICS_NAMESPACE, METRICS[source.metric].name]);
          expect(dimensions).toEqual({ service: source.service, ...source.dimensions });
          break;
        case 'queue':
          expect([p.Namespace, p.MetricName, Object.keys(dimensions)]).toEqual(['AWS/SQS', source.metric, ['QueueName']]);
          break;
        case 'function':
          expect([p.Namespace, p.MetricName, Object.keys(dimensions)]).toEqual(['AWS/Lambda', source.metric, ['FunctionName']]);
          break;
        case 'api':
          expect([p.Namespace, p.MetricName, Object.keys(dimensions)]).toEqual(['AWS/ApiGateway', '5xx', ['ApiId']]);
          break;
      }
    },
  );

  it('watch the metric each names on the resource it names: the processor, the right queue', () => {
    const alarmOf = (id: string) =>
      (Object.values(service.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: `prisme-${id}` } })) as Resource[])[0]!
        .Properties;
    const processor = Object.keys(service.findResources('AWS::Lambda::Function')).find((logicalId) =>
      logicalId.startsWith('ProcessorFunction'),
    )!;
    expect(alarmOf('processorErrors').Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: processor } }]);
    expect(JSON.stringify(alarmOf('deadLetters').Dimensions)).toContain('EventsDeadLetterQueue');
    expect(JSON.stringify(alarmOf('queueBehind').Dimensions)).toMatch(/EventsQueue(?!.*DeadLetter)/);
  });
});

describe('the alarm topic', () => {
  it('is encrypted with a rotating key CloudWatch may use, refuses plain HTTP, and mails the address given', () => {
    service.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    service.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      }),
    });
    service.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      }),
    });
    service.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topicId() },
    });
  });

  it('has no subscription unless an address is given, and refuses one that is not an address', () => {
    expect(Object.keys(synth().findResources('AWS::SNS::Subscription'))).toHaveLength(0);
    expect(() => synth({ 'prisme:alarmEmail': 'ops at example' })).toThrow(/prisme:alarmEmail/);
  });
});

describe('the dashboard', () => {
  it('follows an event through the system and shows every metric Prisme writes', () => {
    const [dashboard] = Object.values(service.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    const titles = [...body.matchAll(/\\"title\\":\\"([^\\]+)\\"/g)].map((m) => m[1]);
    expect(titles.map((t) => t!.split(':')[0])).toEqual([
      'Ingest',
      'Queue',
      'Processor',
      'Processor',
      'Memberships',
      'Snapshots',
      'Freeze',
      'Time sweep',
    ]);
    for (const { name } of Object.values(METRICS)) expect(body, name).toContain(name);
  });
});

describe('tracing', () => {
  const functionsOf = (template: Template) => Object.values(template.findResources('AWS::Lambda::Function')) as Resource[];
  const prismeFunctions = (template: Template) =>
    functionsOf(template).filter((fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME);

  it('is off by default', () => {
    for (const fn of prismeFunctions(service)) {
      expect(fn.Properties.TracingConfig?.Mode ?? 'PassThrough').toBe('PassThrough');
      expect(fn.Properties.Environment.Variables.PRISME_TRACING).toBeUndefined();
    }
  });

  it('traces every function with one context flag, and stays clean under cdk-nag', () => {
    const built = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [], 'prisme:tracing': 'true' } }));
    const template = Template.fromStack(built.service);
    const traced = prismeFunctions(template);
    expect(traced).toHaveLength(6);
    for (const fn of traced) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.Environment.Variables.PRISME_TRACING).toBe('true');
    }
    expect(() => built.app.synth()).not.toThrow();
  });
});

describe('runbooks', () => {
  it('docs/operations.md has one for each alarm, under its id', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../docs/operations.md'), 'utf8');
    const headings = [...doc.matchAll(/^### (\w+)\b/gm)].map((m) => m[1]);
    expect(headings.filter((h) => h! in ALARMS).sort()).toEqual(Object.keys(ALARMS).sort());
  });
});
