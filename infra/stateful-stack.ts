/**
 * What holds data: tables, queues, the data bucket and the event bus. Kept apart
 * from the functions so that redeploying code can never replace a table.
 */
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { type Attribute, AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AccountPrincipal, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { EspPreset } from '#shared/domain/audiences';
import { deadLetterQueue, eventQueue, type KeyDefinition, type TableDefinition, type TableName, tables } from '#shared/resources';
import { dataBucketName } from './prisme-function';

const attribute = (key: KeyDefinition): Attribute => ({
  name: key.name,
  type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
});

/** An ESP's AWS account that may read its preset's folder, proving itself with an external id. */
export interface EspAccess {
  preset: EspPreset;
  /** The ESP's AWS account id (12 digits), as it gives it for its S3 import. */
  account: string;
  /** The external id the ESP shows when it assumes the role (the confused-deputy guard). */
  externalId: string;
}

export interface PrismeStatefulStackProps extends StackProps {
  espAccess?: readonly EspAccess[];
}

export class PrismeStatefulStack extends Stack {
  readonly tables: Record<TableName, TableV2>;
  readonly eventsQueue: Queue;
  readonly deadLetterQueue: Queue;
  readonly bucket: Bucket;
  readonly bus: EventBus;
  /** Server access logs of the buckets, and the console distribution's logs. */
  readonly accessLogs: Bucket;
  readonly espRoles: Role[] = [];

  constructor(scope: Construct, id: string, props?: PrismeStatefulStackProps) {
    super(scope, id, props);

    this.tables = Object.fromEntries(
      Object.entries(tables).map(([name, definition]) => [
        name,
        new TableV2(this, definition.logicalName, {
          partitionKey: attribute(definition.partitionKey),
          sortKey: 'sortKey' in definition ? attribute(definition.sortKey) : undefined,
          globalSecondaryIndexes: ((definition as TableDefinition).indexes ?? []).map((index) => ({
            indexName: index.name,
            partitionKey: attribute(index.partitionKey),
            sortKey: attribute(index.sortKey),
            projectionType: ProjectionType.KEYS_ONLY,
          })),
          billing: Billing.onDemand(),
          encryption: TableEncryptionV2.awsManagedKey(),
          pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
          deletionProtection: true,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
      ]),
    ) as Record<TableName, TableV2>;

    this.deadLetterQueue = new Queue(this, 'EventsDeadLetterQueue', {
      retentionPeriod: Duration.days(deadLetterQueue.retentionDays),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the events queue; a DLQ of a DLQ would hide poison messages from operators.',
    });
    this.eventsQueue = new Queue(this, 'EventsQueue', {
      visibilityTimeout: Duration.seconds(eventQueue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(eventQueue.retentionDays),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: eventQueue.maxReceiveCount },
    });
    // For `npm run prisme -- dlq ...` against AWS.
    new CfnOutput(this, 'EventsQueueUrl', { value: this.eventsQueue.queueUrl, description: 'EVENTS_QUEUE_URL for npm run prisme -- dlq' });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: this.deadLetterQueue.queueUrl,
      description: 'DEAD_LETTER_QUEUE_URL for npm run prisme -- dlq',
    });

    const accessLogs = (this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    }));
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the data bucket’s server access logs; logging it into itself would loop.',
    });
    this.bucket = new Bucket(this, 'Data', {
      bucketName: Fn.sub(dataBucketName),
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'data/',
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bus = new EventBus(this, 'Bus', { description: 'Prisme domain events: memberships, snapshots, jobs' });

    for (const access of props?.espAccess ?? []) this.espRoles.push(this.espRole(access));
  }

  /** A role the ESP's account assumes with its external id, to list and read only `esp/<preset>/`. */
  private espRole({ preset, account, externalId }: EspAccess): Role {
    const prefix = `esp/${preset}/`;
    const name = `${preset[0]!.toUpperCase()}${preset.slice(1)}`;
    const role = new Role(this, `EspAccess${name}`, {
      description: `${name} reads the files Prisme writes for it under ${prefix}`,
      assumedBy: new AccountPrincipal(account),
      externalIds: [externalId],
      maxSessionDuration: Duration.hours(1),
    });
    role.addToPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects(`${prefix}*`)] }));
    role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
    const bucketLogicalId = this.resolve(this.getLogicalId(this.bucket.node.defaultChild as CfnBucket)) as string;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
      reason: `The ESP reads the files written for it at run time under ${prefix}; access is limited to that prefix.`,
    });
    new CfnOutput(this, `EspAccess${name}RoleArn`, {
      value: role.roleArn,
      description: `Give this role ARN, with the external id, to ${name}`,
    });
    return role;
  }
}
