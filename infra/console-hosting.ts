/**
 * The console on AWS: its built files in a private bucket, served by CloudFront under /console/, and
 * the API behind the same distribution under /v1/*, so the page calls it from its own origin (no CORS,
 * one address to give marketers). Caching is off for the API, which also lets CloudFront forward the
 * Authorization header the JWT authorizer checks.
 */
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Function as CloudFrontFunction,
  Distribution,
  FunctionCode,
  FunctionEventType,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE_CSP } from '#shared/http/security-headers';

export interface ConsoleHostingProps {
  api: HttpApi;
  /** The built console (`npm run build:console`). */
  assetsDir: string;
  /** Where the bucket's and the distribution's access logs go. */
  accessLogs: IBucket;
}

/** `/` and `/console/` are the page; everything else under /console/ is a file of it. */
const ROUTING = `function handler(event) {
  var request = event.request;
  if (request.uri === '/') {
    return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: '/console/' } } };
  }
  if (request.uri === '/console' || request.uri === '/console/') request.uri = '/console/index.html';
  return request;
}`;

export class ConsoleHosting extends Construct {
  readonly distribution: Distribution;

  constructor(scope: Construct, id: string, props: ConsoleHostingProps) {
    super(scope, id);
    const bucket = new Bucket(this, 'Assets', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'console-assets/',
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
    });
    // https://{api id}.execute-api.{region}.amazonaws.com -> its host name
    const apiHost = Fn.select(2, Fn.split('/', props.api.apiEndpoint));
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Prisme console and admin API',
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        functionAssociations: [
          {
            eventType: FunctionEventType.VIEWER_REQUEST,
            function: new CloudFrontFunction(this, 'Routing', { code: FunctionCode.fromInline(ROUTING) }),
          },
        ],
        // The headers local/gateway.ts sends, and HSTS, which only means something over https.
        responseHeadersPolicy: new ResponseHeadersPolicy(this, 'SecurityHeaders', {
          comment: 'Prisme console: CSP, nosniff, no framing, no referrer, HSTS',
          securityHeadersBehavior: {
            contentSecurityPolicy: { contentSecurityPolicy: CONSOLE_CSP, override: true },
            contentTypeOptions: { override: true },
            frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
            referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
            strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
          },
        }),
      },
      additionalBehaviors: {
        '/v1/*': {
          origin: new HttpOrigin(apiHost, { protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY }),
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          cachePolicy: CachePolicy.CACHING_DISABLED,
          // API Gateway answers only to its own host name; the token travels as the viewer sent it.
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        },
      },
      enableLogging: true,
      logBucket: props.accessLogs,
      logFilePrefix: 'console-distribution/',
    });

    // Hashed file names never change content; the page is fetched afresh so a deploy shows at once.
    new BucketDeployment(this, 'Files', {
      sources: [Source.asset(props.assetsDir, { exclude: ['index.html'] })],
      destinationBucket: bucket,
      destinationKeyPrefix: 'console/',
      cacheControl: [CacheControl.fromString('public, max-age=31536000, immutable')],
      prune: false,
    });
    new BucketDeployment(this, 'Page', {
      sources: [Source.asset(props.assetsDir, { exclude: ['*', '!index.html'] })],
      destinationBucket: bucket,
      destinationKeyPrefix: 'console/',
      cacheControl: [CacheControl.fromString('no-cache')],
      prune: false,
      distribution: this.distribution,
      distributionPaths: ['/console/index.html'],
    });
    new CfnOutput(this, 'ConsoleUrl', {
      value: `https://${this.distribution.distributionDomainName}/console/`,
      description: 'The Prisme console',
    });

    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'The console is for a company’s staff wherever they work; access is by admin token, not by country.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'Every /v1/ route is authenticated (JWT or IAM); a WAF web ACL is an optional, paid addition left to the deployer.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate cannot raise the minimum TLS version; put the console on your own domain and certificate to do so.',
      },
    );
    // The BucketDeployment custom resource: one CDK-managed function per stack, run only while deploying.
    const deployer = Stack.of(this).node.tryFindChild('Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C');
    if (deployer) {
      const stack = Stack.of(this);
      const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);
      const assetBucket = `arn:${shown(stack.partition, 'AWS::Partition')}:s3:::cdk-hnb659fds-assets-${shown(stack.account, 'AWS::AccountId')}-${shown(stack.region, 'AWS::Region')}/*`;
      const consoleBucket = `<${stack.resolve(stack.getLogicalId(bucket.node.defaultChild as CfnBucket)) as string}.Arn>/*`;
      Validations.of(deployer).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: 'CDK’s BucketDeployment function logs through the AWS managed basic execution policy; it runs only during deployments.',
        },
        ...['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'].map((action) => ({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason:
            'CDK’s BucketDeployment copies the console files from the CDK asset bucket into the console bucket, with the object actions CDK grants it on those two buckets only.',
        })),
        {
          id: `AwsSolutions-IAM5[Resource::${assetBucket}]`,
          reason: 'The console files are read from CDK’s own asset bucket at deploy time.',
        },
        {
          id: `AwsSolutions-IAM5[Resource::${consoleBucket}]`,
          reason: 'The console files are written anywhere in the console’s own bucket.',
        },
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: 'CloudFront invalidations (after each console deployment) cannot be scoped to a distribution in CDK’s grant.',
        },
        { id: 'AwsSolutions-L1', reason: 'The BucketDeployment function’s runtime is chosen and updated by aws-cdk-lib.' },
      );
    }
  }
}
