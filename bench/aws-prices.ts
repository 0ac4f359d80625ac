/**
 * AWS list prices, us-east-1, on-demand, without free tier, as read on the AWS pricing pages in
 * November 2026 (DynamoDB's are those since its November 2024 on-demand price cut). The one place the
 * cost model takes prices from: change them here when AWS does, and say when in `asOf`.
 */
export const AWS_PRICES = {
  asOf: '2026-11',
  region: 'us-east-1',
  /** API Gateway HTTP API: per request (first 300 M a month), metered in 512 KB increments. https://aws.amazon.com/api-gateway/pricing/ */
  httpApiRequest: 1.0 / 1e6,
  /** Lambda, Arm (Graviton): per request and per GB-second. https://aws.amazon.com/lambda/pricing/ */
  lambdaRequest: 0.2 / 1e6,
  lambdaArmGbSecond: 0.0000133334,
  /** SQS standard queue: per request, each 64 KB chunk of a payload a request. https://aws.amazon.com/sqs/pricing/ */
  sqsRequest: 0.4 / 1e6,
  /** DynamoDB on-demand, Standard table class: per write and read request unit. https://aws.amazon.com/dynamodb/pricing/on-demand/ */
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  /** S3 Standard: PUT, COPY, POST, LIST per request; GET per request; storage per GB-month. https://aws.amazon.com/s3/pricing/ */
  s3Tier1Request: 0.005 / 1e3,
  s3Tier2Request: 0.0004 / 1e3,
  s3GbMonth: 0.023,
  /** EventBridge: custom events published, each 64 KB chunk an event. https://aws.amazon.com/eventbridge/pricing/ */
  eventBridgeEvent: 1.0 / 1e6,
  /** CloudWatch Logs: ingestion per GB (Standard class). https://aws.amazon.com/cloudwatch/pricing/ */
  logsIngestGb: 0.5,
  /** CloudWatch: a standard-resolution metric alarm, and a dashboard (beyond an account's first three), a month. https://aws.amazon.com/cloudwatch/pricing/ */
  alarmMonth: 0.1,
  dashboardMonth: 3.0,
  /** CloudWatch: a custom metric (one name and set of dimension values) a month, the first 10,000. */
  customMetricMonth: 0.3,
} as const;

export type AwsPrices = typeof AWS_PRICES;
