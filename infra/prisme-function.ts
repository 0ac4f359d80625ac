import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Duration, Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { EventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type ICommandHooks, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { BucketBinding, QueueAccess, TableBinding } from '#shared/functions';
import { bucket, eventBus, type TableName, tables } from '#shared/resources';

/** The data bucket's name, as a CloudFormation `Fn::Sub` template: one per account and region. */
export const dataBucketName = 'prisme-data-${AWS::AccountId}-${AWS::Region}';

const root = resolve(import.meta.dirname, '..');

export interface PrismeFunctionProps {
  /** Its name in `shared/functions.ts`: the service name in its logs. */
  name: string;
  /** The handler's file, from the project root. */
  entry: string;
  description: string;
  timeout: Duration;
  memorySize?: number;
  environment?: Record<string, string>;
  /** Files shipped beside the code: `from` (a folder, relative to the project) is copied to `into` in the bundle. */
  bundleFiles?: { from: string; into: string };
  /** X-Ray active tracing, and the handler's Powertools tracer (`PRISME_TRACING`). */
  tracing?: boolean;
}

function copyAfterBundling(from: string, into: string): ICommandHooks {
  if (!existsSync(from)) throw new Error(`${from} is missing: run npm ci before the synth`);
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_input, output) => [`mkdir -p "${output}/${into}"`, `cp "${from}"/*.js "${output}/${into}/"`],
  };
}

/**
 * A Prisme Lambda: arm64, Node.js 22, bundled by the local esbuild (no Docker),
 * its own log group with a retention, and `bind*` methods that set the
 * environment variable and grant exactly the access asked for, in one place.
 */
export class PrismeFunction extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: PrismeFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole: logs may go to this function's log group only.
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    this.fn = new NodejsFunction(this, 'Function', {
      role,
      entry: resolve(root, props.entry),
      projectRoot: root,
      depsLockFilePath: resolve(root, 'package-lock.json'),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      logGroup,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: `prisme-${props.name}`,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...(props.tracing && { PRISME_TRACING: 'true' }),
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        minify: true,
        // Error classes name themselves (PrismeError reads new.target.name): keep the names in the logs.
        keepNames: true,
        sourceMap: true,
        target: 'node22',
        logLevel: LogLevel.ERROR,
        // The Node.js 22 runtime ships AWS SDK v3; bundling our own pins the version we test against.
        externalModules: [],
        ...(props.bundleFiles && { commandHooks: copyAfterBundling(resolve(root, props.bundleFiles.from), props.bundleFiles.into) }),
      },
    });
    if (props.tracing) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "Active tracing's xray:PutTraceSegments and xray:PutTelemetryRecords take no resource: '*' is the only one X-Ray accepts.",
      });
    }
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Prisme targets the Node.js 22 Lambda runtime on purpose: it is the line the local runtime and tests are verified against.',
    });
  }

  /**
   * Item-level access to one table, and queries on the named indexes only: spelled out rather than
   * CDK's grants, which would add a `table/index/*` wildcard.
   */
  bindTable(name: TableName, table: TableV2, access: TableBinding['access'], indexes: readonly string[] = []): this {
    this.fn.addEnvironment(tables[name].envVar, table.tableName);
    const read = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:ConditionCheckItem'];
    const write = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
    const actions = { read, readDelete: [...read, 'dynamodb:DeleteItem'], readWrite: [...read, ...write] }[access];
    this.fn.addToRolePolicy(new PolicyStatement({ actions, resources: [table.tableArn] }));
    if (indexes.length > 0) {
      this.fn.addToRolePolicy(
        new PolicyStatement({ actions: ['dynamodb:Query'], resources: indexes.map((index) => `${table.tableArn}/index/${index}`) }),
      );
    }
    return this;
  }

  /** The queue's URL, and sending to it or reading its attributes (its size, never its messages) as asked. */
  bindQueue(envVar: string, queue: Queue, access: QueueAccess = 'send'): this {
    this.fn.addEnvironment(envVar, queue.queueUrl);
    if (access === 'send') queue.grantSendMessages(this.fn);
    if (access === 'attributes') queue.grant(this.fn, 'sqs:GetQueueAttributes');
    return this;
  }

  bindBus(bus: EventBus): this {
    this.fn.addEnvironment(eventBus.envVar, bus.eventBusName);
    bus.grantPutEventsTo(this.fn);
    return this;
  }

  /** Object reads (and writes) under one key prefix, nothing else of the bucket. */
  bindBucket(data: Bucket, prefix: string, access: BucketBinding['access'], options: { list?: boolean } = {}): this {
    this.fn.addEnvironment(bucket.envVar, data.bucketName);
    const actions = access === 'read' ? ['s3:GetObject'] : ['s3:GetObject', 's3:PutObject'];
    // Built from the bucket's deterministic name, so the acknowledgement below names exactly this grant.
    const objects = 'arn:${AWS::Partition}:s3:::' + `${dataBucketName}/${prefix}*`;
    this.fn.addToRolePolicy(new PolicyStatement({ actions, resources: [Fn.sub(objects)] }));
    if (options.list) {
      this.fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [Fn.sub('arn:${AWS::Partition}:s3:::' + dataBucketName)],
          conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
        }),
      );
    }
    Validations.of(this.fn.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${objects.replace(/\$\{([^}]+)\}/g, '<$1>')}]`,
      reason: `Snapshot objects are created under the ${prefix} prefix at run time; access is limited to that prefix.`,
    });
    return this;
  }
}
