/**
 * What runs: the HTTP API, the five functions, the queue's event source, the
 * EventBridge rules and schedules. Every function gets only the access it uses.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Annotations, CfnOutput, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { CfnStage, HttpApi, HttpMethod, HttpNoneAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Rule, Schedule, type EventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DETAIL_TYPES } from '../shared/contracts/detail-types';
import { deadLetterQueue, eventBus, eventQueue, functionMemoryMb, processorSettings, schedules, sweepSettings } from '../shared/resources';
import { LIBRARY_PACKAGE_DIR } from '../functions/ingest/browser-library';
import { INGEST_ENDPOINTS, ingestPaths, LIBRARY_ROUTES, SETTINGS_ROUTE } from '../shared/routes';
import type { Schedules } from '../shared/schedule-settings';
import { ConsoleHosting } from './console-hosting';
import { PrismeFunction } from './prisme-function';
import type { PrismeStatefulStack } from './stateful-stack';

export interface PrismeAppStackProps extends StackProps {
  data: PrismeStatefulStack;
  /** Sustained requests per second the API accepts before answering 429. */
  throttleRateLimit?: number;
  /** Identity settings (`PRISME_IDENTITY_LIMITS`, ...) for the functions that resolve identifiers. */
  settings?: Readonly<Record<string, string>>;
  /** When the schedules run (default: `schedules` in shared/resources.ts). */
  schedules?: Schedules;
  /** Admin API callers authenticated by JWT (an OIDC issuer such as Cognito) instead of IAM SigV4. */
  adminJwt?: { issuer: string; audience: string[] };
  /** Where browsers reach the ingest API when it is behind a custom domain (the settings analytics.js loads name it). */
  publicUrl?: string;
}

/** `m h dom mon dow` (croner, used locally) to an EventBridge schedule. */
export function eventBridgeSchedule(cron: string): Schedule {
  if (cron.trim() === '* * * * *') return Schedule.rate(Duration.minutes(1));
  const [minute, hour, day, month, weekDay] = cron.trim().split(/\s+/) as [string, string, string, string, string];
  const field = (value: string) => value.replace(/^\*\//, '0/');
  return Schedule.cron({
    minute: field(minute),
    hour: field(hour),
    month: field(month),
    ...(weekDay === '*' ? { day: field(day) } : { weekDay: field(weekDay) }),
  });
}

export class PrismeAppStack extends Stack {
  readonly api: HttpApi;
  /** Absent when the console was not built before the synth. */
  readonly console?: ConsoleHosting;
  private readonly schedules: Schedules;
  readonly functions: Record<'ingest' | 'processor' | 'admin' | 'snapshot' | 'freeze' | 'sweep', PrismeFunction>;

  constructor(scope: Construct, id: string, props: PrismeAppStackProps) {
    super(scope, id, props);
    this.schedules = props.schedules ?? schedules;
    const { data } = props;
    const { tables: t } = data;

    const ingest = new PrismeFunction(this, 'Ingest', {
      name: 'ingest',
      description: 'Segment Tracking API: validate, authenticate, enqueue',
      timeout: Duration.seconds(10),
      memorySize: functionMemoryMb.ingest,
      bundleFiles: { from: LIBRARY_PACKAGE_DIR, into: 'browser-library' },
      environment: { PRISME_BROWSER_LIBRARY_DIR: '/var/task/browser-library' },
    })
      .bindTable('catalog', t.catalog, 'read')
      .bindQueue(eventQueue.envVar, data.eventsQueue);
    ingest.fn.addEnvironment(deadLetterQueue.envVar, data.deadLetterQueue.queueUrl);
    if (props.publicUrl) ingest.fn.addEnvironment('PRISME_PUBLIC_URL', props.publicUrl);

    const processor = new PrismeFunction(this, 'Processor', {
      name: 'processor',
      description: 'Resolve identities, fold events into profiles, evaluate segments',
      timeout: Duration.seconds(processorSettings.timeoutSeconds),
      memorySize: functionMemoryMb.processor,
    })
      .bindTable('profiles', t.profiles, 'readWrite')
      .bindTable('identities', t.identities, 'readWrite', ['byProfile']) // erasure finds every identifier of a person
      .bindTable('memberships', t.memberships, 'readWrite')
      .bindTable('catalog', t.catalog, 'readWrite')
      .bindTable('frozen', t.frozen, 'readDelete') // erasure removes a person's frozen values
      .bindTable('groups', t.groups, 'readWrite') // group calls' traits and member items; erasure removes a person's
      .bindQueue(eventQueue.envVar, data.eventsQueue)
      .bindQueue(deadLetterQueue.envVar, data.deadLetterQueue)
      .bindBucket(data.bucket, 'archive/', 'readWrite', { list: true }) // raw events, sealed per person; replay and backfill list them
      .bindBus(data.bus);
    processor.fn.addEventSource(
      new SqsEventSource(data.eventsQueue, {
        batchSize: processorSettings.batchSize,
        maxBatchingWindow: Duration.seconds(processorSettings.maxBatchingWindowSeconds),
        reportBatchItemFailures: true,
      }),
    );

    const admin = new PrismeFunction(this, 'Admin', {
      name: 'admin',
      description: 'Admin API: profiles, segments, audiences, jobs',
      timeout: Duration.seconds(29),
      memorySize: functionMemoryMb.admin,
    })
      .bindTable('catalog', t.catalog, 'readWrite')
      .bindTable('profiles', t.profiles, 'read')
      .bindTable('identities', t.identities, 'read')
      .bindTable('memberships', t.memberships, 'read')
      .bindTable('frozen', t.frozen, 'read')
      .bindTable('groups', t.groups, 'read') // a profile's groups with their traits
      .bindQueue(eventQueue.envVar, data.eventsQueue)
      .bindBucket(data.bucket, 'esp/', 'read') // presigned links to ESP files are signed with its role
      .bindBucket(data.bucket, 'audiences/', 'read') // run files, for the audience KPIs
      .bindBucket(data.bucket, 'holdouts/', 'read')
      .bindBus(data.bus);
    admin.fn.addEnvironment(deadLetterQueue.envVar, data.deadLetterQueue.queueUrl);
    data.deadLetterQueue.grant(admin.fn, 'sqs:GetQueueAttributes'); // its size, for the console; never its messages
    for (const [name, value] of Object.entries(props.settings ?? {})) {
      for (const fn of [ingest, processor, admin]) fn.fn.addEnvironment(name, value);
    }

    const snapshot = new PrismeFunction(this, 'Snapshot', {
      name: 'snapshot',
      description: 'Audience snapshots to S3, on request and on schedule',
      timeout: Duration.minutes(15),
      memorySize: functionMemoryMb.snapshot,
    })
      .bindTable('catalog', t.catalog, 'readWrite')
      .bindTable('memberships', t.memberships, 'read')
      .bindTable('profiles', t.profiles, 'read')
      .bindTable('frozen', t.frozen, 'read')
      .bindTable('groups', t.groups, 'read') // groups.<trait> columns
      .bindBucket(data.bucket, 'audiences/', 'readWrite', { list: true }) // an erasure's scrub lists the run folders
      .bindBucket(data.bucket, 'holdouts/', 'readWrite')
      .bindBucket(data.bucket, 'esp/', 'readWrite')
      .bindBus(data.bus);

    const freeze = new PrismeFunction(this, 'Freeze', {
      name: 'freeze',
      description: 'Daily freeze: RFM, clusters and churn risk, fanned out over scan segments; memberships as of now',
      timeout: Duration.minutes(15),
      memorySize: functionMemoryMb.freeze,
    })
      .bindTable('catalog', t.catalog, 'readWrite')
      .bindTable('profiles', t.profiles, 'readWrite')
      .bindTable('memberships', t.memberships, 'readWrite')
      .bindTable('frozen', t.frozen, 'readWrite')
      .bindTable('groups', t.groups, 'read') // segments comparing the traits of a profile's groups
      .bindBus(data.bus);

    const sweep = new PrismeFunction(this, 'Sweep', {
      name: 'sweep',
      description: 'Every minute: re-evaluate the profiles whose memberships are due to change with time',
      timeout: Duration.seconds(sweepSettings.timeoutSeconds),
      memorySize: functionMemoryMb.sweep,
    })
      .bindTable('catalog', t.catalog, 'readWrite')
      .bindTable('profiles', t.profiles, 'readWrite', ['due'])
      .bindTable('memberships', t.memberships, 'readWrite')
      .bindTable('frozen', t.frozen, 'read')
      .bindTable('groups', t.groups, 'read') // segments comparing the traits of a profile's groups
      .bindBus(data.bus);
    this.functions = { ingest, processor, admin, snapshot, freeze, sweep };
    this.routeEvents(data.bus, { snapshot, freeze, sweep });

    this.api = new HttpApi(this, 'Api', {
      description: 'Prisme: Segment-compatible ingest and the admin API',
      createDefaultStage: true,
    });
    const ingestIntegration = new HttpLambdaIntegration('Ingest', ingest.fn);
    // Write keys are verified by the ingest function itself: Segment SDKs send HTTP Basic, which no API Gateway
    // authorizer speaks. CORS is answered there too, per source: the API's own CORS setting is one list for every route.
    const publicRoute = (path: string, method: HttpMethod) =>
      this.api.addRoutes({ path, methods: [method, HttpMethod.OPTIONS], integration: ingestIntegration, authorizer: new HttpNoneAuthorizer() });
    const ingestRoutes = [
      ...INGEST_ENDPOINTS.flatMap((endpoint) => ingestPaths(endpoint).flatMap((path) => publicRoute(path, HttpMethod.POST))),
      ...publicRoute(SETTINGS_ROUTE, HttpMethod.GET),
      ...LIBRARY_ROUTES.flatMap((path) => this.api.addRoutes({ path, methods: [HttpMethod.GET], integration: ingestIntegration, authorizer: new HttpNoneAuthorizer() })),
    ];
    this.api.addRoutes({
      path: '/v1/{proxy+}',
      methods: [HttpMethod.ANY],
      integration: new HttpLambdaIntegration('Admin', admin.fn),
      authorizer: props.adminJwt
        ? new HttpJwtAuthorizer('AdminJwt', props.adminJwt.issuer, { jwtAudience: props.adminJwt.audience })
        : new HttpIamAuthorizer(),
    });
    this.configureStage(props.throttleRateLimit ?? 1000);
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Where the libraries send events (their host, apiHost or dataPlaneUrl); the admin API too' });
    for (const route of ingestRoutes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'Ingest routes authenticate the Segment write key (HTTP Basic or in the body) in the ingest function; IAM would break every Segment SDK, and preflights carry no credentials.',
      });
    }

    const consoleDir = resolve(import.meta.dirname, '..', 'console', 'dist');
    if (existsSync(resolve(consoleDir, 'index.html'))) {
      this.console = new ConsoleHosting(this, 'Console', { api: this.api, assetsDir: consoleDir, accessLogs: data.accessLogs });
    } else {
      Annotations.of(this).addWarning('console/dist is missing, so the console is not deployed: run npm run build:console (npm ci does) and synthesise again');
    }
  }

  /** Bus rules (requests from the admin API) and schedules; EventBridge retries each Lambda target twice. */
  private routeEvents(bus: EventBus, fns: { snapshot: PrismeFunction; freeze: PrismeFunction; sweep: PrismeFunction }): void {
    const target = (fn: PrismeFunction) => [new LambdaFunction(fn.fn, { retryAttempts: 2 })];
    const onDetail = (id: string, detailType: string, fn: PrismeFunction) =>
      new Rule(this, id, { eventBus: bus, eventPattern: { source: [eventBus.source], detailType: [detailType] }, targets: target(fn) });
    const onSchedule = (id: string, { cron, description }: { cron: string; description: string }, fn: PrismeFunction) =>
      new Rule(this, id, { description, schedule: eventBridgeSchedule(cron), targets: target(fn) });

    onDetail('SnapshotRequested', DETAIL_TYPES.snapshotRequested, fns.snapshot);
    onDetail('FreezeRequested', DETAIL_TYPES.freezeRequested, fns.freeze);
    // Erasure: the snapshot function rewrites earlier runs without the person, handing off to itself.
    onDetail('ProfileErased', DETAIL_TYPES.profileErased, fns.snapshot);
    onDetail('SnapshotScrubRequested', DETAIL_TYPES.snapshotScrubRequested, fns.snapshot);
    onSchedule('FreezeSchedule', this.schedules.freeze, fns.freeze);
    onSchedule('SnapshotSchedule', this.schedules.snapshots, fns.snapshot);
    onSchedule('SweepSchedule', this.schedules.sweep, fns.sweep);
  }

  /** Access logs and throttling on the default stage (429 beyond the limit; per source, the ingest function adds Retry-After). */
  private configureStage(rateLimit: number): void {
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention: RetentionDays.THREE_MONTHS });
    const stage = this.api.defaultStage!.node.defaultChild as CfnStage;
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        requestTime: '$context.requestTime',
        routeKey: '$context.routeKey',
        status: '$context.status',
        responseLength: '$context.responseLength',
        integrationError: '$context.integrationErrorMessage',
      }),
    };
    stage.defaultRouteSettings = { throttlingRateLimit: rateLimit, throttlingBurstLimit: rateLimit * 2 };
  }
}
