/**
 * AWS SDK clients, one per kind per container, reused across warm invocations.
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables, which
 * is how the local runtime points the very same code at dynalite, s3rver and
 * its queue and bus emulators.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracerOf } from './tracing';

export interface AwsClients {
  dynamo: DynamoDBDocumentClient;
  s3: S3Client;
  sqs: SQSClient;
  events: EventBridgeClient;
}

let shared: AwsClients | undefined;

/** Sees every client made, with its service name: the local runtime's usage meter counts their calls. */
export type ClientHook = (
  client: DynamoDBClient | S3Client | SQSClient | EventBridgeClient,
  service: 'DynamoDB' | 'S3' | 'SQS' | 'EventBridge',
) => void;
let hook: ClientHook | undefined;

/**
 * The container's clients, made by the first call (with its options: S3_FORCE_PATH_STYLE and tracing
 * are one per process). Traced, each call is a subsegment, and SQS messages carry the trace header.
 */
export function awsClients(options: { s3ForcePathStyle?: boolean; tracing?: boolean } = {}): AwsClients {
  if (!shared) {
    const made = {
      dynamo: new DynamoDBClient({}),
      s3: new S3Client({ forcePathStyle: options.s3ForcePathStyle ?? false }),
      sqs: new SQSClient({}),
      events: new EventBridgeClient({}),
    };
    if (options.tracing) for (const client of Object.values(made)) tracerOf(true).captureAWSv3Client(client);
    if (hook) {
      hook(made.dynamo, 'DynamoDB');
      hook(made.s3, 'S3');
      hook(made.sqs, 'SQS');
      hook(made.events, 'EventBridge');
    }
    shared = { ...made, dynamo: documentClient(made.dynamo) };
  }
  return shared;
}

export const documentClient = (client: DynamoDBClient): DynamoDBDocumentClient =>
  // Large numbers in traits (1e46) are doubles, as in the JSON they came from: store them as such.
  DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, allowImpreciseNumbers: true } });

/** For the local runtime: drop clients made before the endpoints were known (and set the hook for the next ones). */
export function resetAwsClients(clientHook?: ClientHook): void {
  shared = undefined;
  hook = clientHook;
}
