/**
 * What runs: the HTTP API, the functions of `shared/functions.ts` with their triggers (routes, the
 * queue's event source, EventBridge rules and schedules), each with only the access its entry names.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Annotations, CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { type CfnStage, HttpApi, HttpMethod, HttpNoneAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DETAIL_TYPES } from '#shared/contracts/detail-types';
import { assertUnreachable } from '#shared/domain/assert-unreachable';
import {
  type FunctionName,
  type FunctionSpec,
  functionEntries,
  type QueueAccess,
  type TableBinding,
  type Trigger,
} from '#shared/functions';
import { eventBus, type QueueName, queues, schedules, type TableName } from '#shared/resources';
import { INGEST_ENDPOINTS, ingestPaths, LIBRARY_ROUTES, SETTINGS_ROUTE } from '#shared/routes';
import type { Schedules } from '#shared/schedule-settings';
import { ConsoleHosting } from './console-hosting';
import { PrismeMonitoring } from './monitoring';
import { PrismeFunction } from './prisme-function';
import type { PrismeStatefulStack } from './stateful-stack';

export interface PrismeAppStackProps extends StackProps {
  data: PrismeStatefulStack;
  /** Sustained requests per second the API accepts before answering 429. */
  throttleRateLimit?: number;
  /** Settings of the deploying shell (`PRISME_IDENTITY_LIMITS`, ...), each for the functions whose entry in shared/functions.ts reads it. */
  settings?: Readonly<Record<string, string>>;
  /** When the schedules run (default: `schedules` in shared/resources.ts). */
  schedules?: Schedules;
  /** Admin API callers authenticated by JWT (an OIDC issuer such as Cognito) instead of IAM SigV4. */
  adminJwt?: { issuer: string; audience: string[] };
  /** Where browsers reach the ingest API when it is behind a custom domain (the settings analytics.js loads name it). */
  publicUrl?: string;
  /** Subscribed to the alarm topic (`-c prisme:alarmEmail=ops@example.com`). */
  alarmEmail?: string;
  /** X-Ray tracing of every function (`-c prisme:tracing=true`). */
  tracing?: boolean;
}

/** `ingest` -> `Ingest`, `snapshotRequested` -> `SnapshotRequested`: the construct ids deployed stacks know, so a deploy updates, never replaces. */
const pascalCase = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

const queueOf = (data: PrismeStatefulStack, name: QueueName): Queue =>
  ({ events: data.eventsQueue, deadLetter: data.deadLetterQueue })[name];

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
  readonly functions: Record<FunctionName, PrismeFunction>;
  readonly monitoring: PrismeMonitoring;

  constructor(scope: Construct, id: string, props: PrismeAppStackProps) {
    super(scope, id, props);
    const { data } = props;
    // Settings given at deploy, each to the functions whose entry reads it.
    const settings: Record<string, string> = { ...props.settings, ...(props.publicUrl && { PRISME_PUBLIC_URL: props.publicUrl }) };
    this.functions = Object.fromEntries(
      functionEntries().map(([name, spec]) => [name, this.createFunction(name, spec, data, settings, props.tracing ?? false)]),
    ) as Record<FunctionName, PrismeFunction>;

    this.api = new HttpApi(this, 'Api', {
      description: 'Prisme: Segment-compatible ingest and the admin API',
      createDefaultStage: true,
    });
    const triggers = { data, schedules: props.schedules ?? schedules, adminJwt: props.adminJwt };
    for (const [name, spec] of functionEntries()) {
      for (const trigger of spec.triggers) this.addTrigger(this.functions[name], trigger, triggers);
    }
    this.configureStage(props.throttleRateLimit ?? 1000);
    this.monitoring = new PrismeMonitoring(this, 'Monitoring', {
      functions: this.functions,
      queues: { events: data.eventsQueue, deadLetter: data.deadLetterQueue },
      api: this.api,
      ...(props.alarmEmail && { alarmEmail: props.alarmEmail }),
    });
    new CfnOutput(this, 'ApiUrl', {
      value: this.api.apiEndpoint,
      description: 'Where the libraries send events (their host, apiHost or dataPlaneUrl); the admin API too',
    });

    const consoleDir = resolve(import.meta.dirname, '..', 'console', 'dist');
    if (existsSync(resolve(consoleDir, 'index.html'))) {
      this.console = new ConsoleHosting(this, 'Console', { api: this.api, assetsDir: consoleDir, accessLogs: data.accessLogs });
    } else {
      Annotations.of(this).addWarning(
        'console/dist is missing, so the console is not deployed: run npm run build:console (npm ci does) and synthesise again',
      );
    }
  }

  /** One function of `shared/functions.ts`, bound to exactly the resources its entry names. */
  private createFunction(
    name: FunctionName,
    spec: FunctionSpec,
    data: PrismeStatefulStack,
    settings: Readonly<Record<string, string>>,
    tracing: boolean,
  ): PrismeFunction {
    const { bundleFiles } = spec;
    const fn = new PrismeFunction(this, pascalCase(name), {
      name,
      entry: spec.entry,
      description: spec.description,
      timeout: Duration.seconds(spec.timeoutSeconds),
      memorySize: spec.memoryMb,
      tracing,
      ...(bundleFiles && { bundleFiles, environment: { [bundleFiles.setting]: `/var/task/${bundleFiles.into}` } }),
    });
    for (const [table, { access, indexes }] of Object.entries(spec.tables) as Array<[TableName, TableBinding]>)
      fn.bindTable(table, data.tables[table], access, indexes);
    for (const [queue, access] of Object.entries(spec.queues ?? {}) as Array<[QueueName, QueueAccess]>)
      fn.bindQueue(queues[queue].envVar, queueOf(data, queue), access);
    for (const { prefix, access, list } of spec.bucket ?? []) fn.bindBucket(data.bucket, prefix, access, { list });
    if (spec.bus) fn.bindBus(data.bus);
    for (const setting of spec.settings ?? []) {
      const value = settings[setting];
      if (value !== undefined) fn.fn.addEnvironment(setting, value);
    }
    return fn;
  }

  /** Routes, the queue's event source, bus rules and schedules (EventBridge retries each Lambda target twice). */
  private addTrigger(
    fn: PrismeFunction,
    trigger: Trigger,
    {
      data,
      schedules: configured,
      adminJwt,
    }: { data: PrismeStatefulStack; schedules: Schedules; adminJwt?: PrismeAppStackProps['adminJwt'] },
  ): void {
    const targets = [new LambdaFunction(fn.fn, { retryAttempts: 2 })];
    switch (trigger.kind) {
      case 'http':
        if (trigger.api === 'ingest') this.addIngestRoutes(fn);
        else this.addAdminRoutes(fn, adminJwt);
        return;
      case 'queue': {
        fn.fn.addEventSource(
          new SqsEventSource(queueOf(data, trigger.queue), {
            batchSize: trigger.batchSize,
            maxBatchingWindow: Duration.seconds(trigger.maxBatchingWindowSeconds),
            reportBatchItemFailures: true,
          }),
        );
        return;
      }
      case 'schedule': {
        // One schedule a function: its rule is named after the function.
        const { cron, description } = configured[trigger.schedule];
        new Rule(this, `${fn.node.id}Schedule`, { description, schedule: eventBridgeSchedule(cron), targets });
        return;
      }
      case 'event':
        new Rule(this, pascalCase(trigger.detailType), {
          eventBus: data.bus,
          eventPattern: { source: [eventBus.source], detailType: [DETAIL_TYPES[trigger.detailType]] },
          targets,
        });
        return;
      default:
        assertUnreachable(trigger);
    }
  }

  /**
   * Write keys are verified by the ingest function itself: Segment SDKs send HTTP Basic, which no API Gateway
   * authorizer speaks. CORS is answered there too, per source: the API's own CORS setting is one list for every route.
   */
  private addIngestRoutes(fn: PrismeFunction): void {
    const integration = new HttpLambdaIntegration(fn.node.id, fn.fn);
    const publicRoute = (path: string, methods: HttpMethod[]) =>
      this.api.addRoutes({ path, methods, integration, authorizer: new HttpNoneAuthorizer() });
    const routes = [
      ...INGEST_ENDPOINTS.flatMap((endpoint) =>
        ingestPaths(endpoint).flatMap((path) => publicRoute(path, [HttpMethod.POST, HttpMethod.OPTIONS])),
      ),
      ...publicRoute(SETTINGS_ROUTE, [HttpMethod.GET, HttpMethod.OPTIONS]),
      ...LIBRARY_ROUTES.flatMap((path) => publicRoute(path, [HttpMethod.GET])),
    ];
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Ingest routes authenticate the Segment write key (HTTP Basic or in the body) in the ingest function; IAM would break every Segment SDK, and preflights carry no credentials.',
      });
    }
  }

  /** Everything else under /v1: IAM SigV4, or a JWT authorizer when an OIDC issuer is given. */
  private addAdminRoutes(fn: PrismeFunction, adminJwt: PrismeAppStackProps['adminJwt']): void {
    this.api.addRoutes({
      path: '/v1/{proxy+}',
      methods: [HttpMethod.ANY],
      integration: new HttpLambdaIntegration(fn.node.id, fn.fn),
      authorizer: adminJwt
        ? new HttpJwtAuthorizer('AdminJwt', adminJwt.issuer, { jwtAudience: adminJwt.audience })
        : new HttpIamAuthorizer(),
    });
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
