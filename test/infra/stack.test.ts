/**
 * CDK assertions on the synthesised stacks: resources, least privilege, console hosting, the JWT
 * authorizer, ESP access and cdk-nag. Long because the app is synthesised once (seconds) for them all.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#infra/app';
import { functions, resourceVariables } from '#shared/functions';
import { bucket, deadLetterQueue, eventBus, eventQueue, processorSettings, tables } from '#shared/resources';
import { INGEST_ENDPOINTS, LIBRARY_ROUTES } from '#shared/routes';

let data: Template;
let service: Template;
let app: App;

beforeAll(() => {
  process.env.PRISME_IDENTITY_LIMITS = 'email:2';
  process.env.PRISME_FREEZE_CRON = '30 2 * * *';
  const built = buildApp(
    new App({
      outdir: `${process.env.TMPDIR ?? '/tmp'}/prisme-cdk-test-${process.pid}`,
      context: { 'prisme:espAccess': [{ preset: 'braze', account: '111122223333', externalId: 'braze-ext-id-1234' }] },
    }),
  );
  delete process.env.PRISME_IDENTITY_LIMITS;
  delete process.env.PRISME_FREEZE_CRON;
  app = built.app;
  data = Template.fromStack(built.data);
  service = Template.fromStack(built.service);
}, 120_000);

type Resource = { Properties: Record<string, any> };
const resources = (template: Template, type: string) => Object.values(template.findResources(type)) as Resource[];

describe('stateful stack', () => {
  it('indexes profiles by the hour they are due, keys only', () => {
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'due', Projection: { ProjectionType: 'KEYS_ONLY' } })],
    });
  });

  it('keeps groups by groupId, their member items under a sort key', () => {
    data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'groupId', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  it('has the six tables, on demand, with point-in-time recovery and encryption', () => {
    const globalTables = resources(data, 'AWS::DynamoDB::GlobalTable');
    expect(globalTables).toHaveLength(6);
    for (const table of globalTables) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.Replicas[0].PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled).toBe(true);
      expect(table.Properties.SSESpecification.SSEEnabled).toBe(true);
    }
  });

  it('has an events queue whose visibility timeout is at least six processor timeouts, with a DLQ redrive', () => {
    const queue = resources(data, 'AWS::SQS::Queue').find((q) => q.Properties.RedrivePolicy);
    expect(queue!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * processorSettings.timeoutSeconds);
    expect(queue!.Properties.RedrivePolicy.maxReceiveCount).toBe(eventQueue.maxReceiveCount);
    for (const q of resources(data, 'AWS::SQS::Queue')) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('has an encrypted data bucket with public access blocked and TLS enforced', () => {
    data.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: { 'Fn::Sub': 'prisme-data-${AWS::AccountId}-${AWS::Region}' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    data.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    data.resourceCountIs('AWS::Events::EventBus', 1);
  });
});

describe('service stack', () => {
  it("runs six arm64 Node.js 22 functions (and CDK's console deployer)", () => {
    const all = Object.entries(service.findResources('AWS::Lambda::Function')) as Array<[string, Resource]>;
    expect(all.map(([id]) => id).filter((id) => id.startsWith('CustomCDKBucketDeployment'))).toHaveLength(1);
    const prismeFunctions = all.filter(([id]) => !id.startsWith('CustomCDKBucketDeployment')).map(([, fn]) => fn);
    expect(prismeFunctions).toHaveLength(6);
    for (const fn of prismeFunctions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
    }
  });

  it('feeds the processor from the queue with partial batch failures', () => {
    service.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: processorSettings.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('routes the Segment endpoints, their preflights and the browser settings to ingest without an authorizer, and the admin API behind IAM', () => {
    const routes = resources(service, 'AWS::ApiGatewayV2::Route').map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType]);
    for (const endpoint of INGEST_ENDPOINTS) {
      for (const path of [`/v1/${endpoint}`, `/v1/${endpoint.charAt(0)}`]) {
        expect(routes).toContainEqual([`POST ${path}`, 'NONE']);
        expect(routes).toContainEqual([`OPTIONS ${path}`, 'NONE']);
      }
    }
    expect(routes).toContainEqual(['GET /v1/projects/{writeKey}/settings', 'NONE']);
    expect(routes).toContainEqual(['OPTIONS /v1/projects/{writeKey}/settings', 'NONE']);
    expect(routes).toContainEqual(['ANY /v1/{proxy+}', 'AWS_IAM']);
    for (const path of LIBRARY_ROUTES) expect(routes).toContainEqual([`GET ${path}`, 'NONE']);
    expect(routes.filter(([, auth]) => auth === 'NONE')).toHaveLength(INGEST_ENDPOINTS.length * 4 + 2 + LIBRARY_ROUTES.length);
    // CORS is the ingest function's, per source: the API's own setting would open every route, the admin API's too.
    for (const api of resources(service, 'AWS::ApiGatewayV2::Api')) expect(api.Properties.CorsConfiguration).toBeUndefined();
    service.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: Match.anyValue() }),
    });
  });

  it('schedules the daily freeze (at the time PRISME_FREEZE_CRON gave) and the sweeps, and routes requests from the bus', () => {
    const rules = resources(service, 'AWS::Events::Rule');
    expect(
      rules
        .map((r) => r.Properties.ScheduleExpression)
        .filter(Boolean)
        .sort(),
    ).toEqual(['cron(0/15 * * * ? *)', 'cron(30 2 * * ? *)', 'rate(1 minute)']);
    // The time sweep: every minute, on the sweep function, which stops working well within its own timeout.
    const sweepRule = rules.find((r) => r.Properties.ScheduleExpression === 'rate(1 minute)')!;
    expect(JSON.stringify(sweepRule.Properties.Targets)).toMatch(/Sweep[A-Za-z0-9]*Function/);
    const sweepFunction = resources(service, 'AWS::Lambda::Function').find((f) =>
      String(f.Properties.Description).startsWith('Every minute'),
    )!;
    expect(sweepFunction.Properties.Timeout).toBe(120);
    const detailTypes = rules.flatMap((r) => r.Properties.EventPattern?.['detail-type'] ?? []);
    expect(detailTypes.sort()).toEqual(['Audience Snapshot Requested', 'Freeze Requested', 'Profile Erased', 'Snapshot Scrub Requested']);
    // An erasure's snapshot files are rewritten by the snapshot function (15 minutes, hand-offs), not the processor (30 s).
    const targetOf = (detailType: string) =>
      JSON.stringify(rules.find((r) => r.Properties.EventPattern?.['detail-type']?.includes(detailType))!.Properties.Targets);
    for (const detailType of ['Profile Erased', 'Snapshot Scrub Requested'])
      expect(targetOf(detailType)).toMatch(/Snapshot[A-Za-z0-9]*Function/);
  });

  it('sets on each function exactly the resource variables its config requires (shared/functions.ts), and no other', () => {
    const resourceVariableNames = new Set<string>([
      ...Object.values(tables).map((t) => t.envVar),
      eventQueue.envVar,
      deadLetterQueue.envVar,
      bucket.envVar,
      eventBus.envVar,
    ]);
    const prismeFunctions = resources(service, 'AWS::Lambda::Function').filter(
      (fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
    );
    expect(prismeFunctions).toHaveLength(Object.keys(functions).length);
    for (const [name, spec] of Object.entries(functions)) {
      const fn = prismeFunctions.find((f) => f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === `prisme-${name}`)!;
      const set = Object.keys(fn.Properties.Environment.Variables).filter((variable) => resourceVariableNames.has(variable));
      expect(set.sort(), name).toEqual(Object.keys(resourceVariables(spec)).sort());
    }
  });

  it('gives the ingest function no access to profiles and the admin function no write to them', () => {
    const policies = resources(service, 'AWS::IAM::Policy');
    const policyOf = (id: string) =>
      JSON.stringify(policies.find((p) => JSON.stringify(p.Properties.Roles).includes(id))!.Properties.PolicyDocument);
    expect(policyOf('IngestRole')).not.toMatch(/ExportsOutputFnGetAttProfiles/);
    expect(policyOf('IngestRole')).not.toMatch(/dynamodb:PutItem/);
    expect(policyOf('AdminRole')).toMatch(/ExportsOutputFnGetAttProfiles/);
    const adminStatements = JSON.parse(policyOf('AdminRole')).Statement as Array<{ Action: string[]; Resource: unknown }>;
    const onProfiles = adminStatements.filter((s) => JSON.stringify(s.Resource).includes('Profiles'));
    expect(onProfiles.flatMap((s) => s.Action)).not.toContain('dynamodb:PutItem');
    // Only the sweep queries the due index, and no function gets an index wildcard.
    expect(policyOf('SweepRole')).toMatch(/\/index\/due/);
    expect(policyOf('ProcessorRole')).not.toMatch(/\/index\/due/);
    // The snapshot function writes audiences and their control groups, nothing else in the bucket.
    expect(
      policyOf('SnapshotRole')
        .match(/prisme-data-[^"]*?\/[a-z]+\/\*/g)
        ?.map((arn) => arn.replace(/^.*?\//, ''))
        .sort(),
    ).toEqual(['audiences/*', 'esp/*', 'holdouts/*']);
    // It lists run folders under audiences/ for an erasure's scrub; the processor no longer touches snapshot files.
    expect(policyOf('SnapshotRole')).toContain('"s3:prefix":["audiences/*"]');
    expect(policyOf('ProcessorRole')).not.toMatch(/audiences|holdouts|esp\//);
    // Frozen indicators: only the freeze writes them.
    const writesFrozen = (role: string) =>
      (JSON.parse(policyOf(role)).Statement as Array<{ Action: string[]; Resource: unknown }>)
        .filter((st) => JSON.stringify(st.Resource).includes('Frozen'))
        .some((st) => [st.Action].flat().includes('dynamodb:PutItem'));
    expect(['FreezeRole', 'ProcessorRole', 'AdminRole', 'SweepRole'].map(writesFrozen)).toEqual([true, false, false, false]);
    // Groups: only the processor writes them (group calls, member items); the others read their traits.
    const writesGroups = (role: string) =>
      (JSON.parse(policyOf(role)).Statement as Array<{ Action: string[]; Resource: unknown }>)
        .filter((st) => JSON.stringify(st.Resource).includes('Groups'))
        .some((st) => [st.Action].flat().includes('dynamodb:PutItem'));
    expect(['ProcessorRole', 'AdminRole', 'SnapshotRole', 'FreezeRole', 'SweepRole', 'IngestRole'].map(writesGroups)).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('least privilege', () => {
  it('gives each function exactly the access it uses, and nothing more', () => {
    const access = (actions: string[]) => {
      const names = actions.map((a) => a.split(':')[1]);
      if (names.includes('PutItem')) return 'readWrite';
      if (names.includes('DeleteItem') && names.includes('GetItem')) return 'readDelete';
      if (names.includes('GetItem')) return 'read';
      if (names.includes('ReceiveMessage')) return 'consume';
      if (names.includes('SendMessage')) return 'send';
      if (names.includes('PutObject')) return 'objects:readWrite';
      if (names.includes('GetObject')) return 'objects:read';
      if (names.includes('PutEvents')) return 'publish';
      if (names.length === 1 && names[0] === 'Query') return 'query';
      return names.join('+');
    };
    const RESOURCE =
      /Profiles|Identities|Memberships|Catalog|Frozen|Groups|EventsDeadLetterQueue|EventsQueue|Bus|ConsoleAssets|cdk-\w+-assets|\/(?:audiences|holdouts|esp|archive)\/\*|index\/\w+|^"\*"$/g;
    const granted: Record<string, Record<string, string[]>> = {};
    for (const policy of resources(service, 'AWS::IAM::Policy')) {
      const fn = JSON.stringify(policy.Properties.Roles).match(/"(\w+?)Role[0-9A-F]*"/)?.[1] ?? '?';
      for (const statement of policy.Properties.PolicyDocument.Statement as Array<{
        Action: string | string[];
        Resource: unknown;
        Condition?: { StringLike?: Record<string, string[]> };
      }>) {
        const actions = [statement.Action].flat();
        if (actions.every((a) => a.startsWith('logs:'))) continue;
        // A listing is granted on the bucket, for one prefix: named by its prefix.
        const listed = statement.Condition?.StringLike?.['s3:prefix']?.map((prefix) => `/${prefix}`);
        const matched = listed ?? JSON.stringify(statement.Resource).match(RESOURCE) ?? ['?'];
        const index = matched.find((m) => m.startsWith('index/'));
        const resource = index ? `${matched[0]}/${index}` : matched[0]!;
        (granted[fn] ??= {})[resource] = [...new Set([...(granted[fn]![resource] ?? []), access(actions)])].sort();
      }
    }
    expect(granted).toEqual({
      Ingest: { Catalog: ['read'], EventsQueue: ['send'] },
      Processor: {
        Profiles: ['readWrite'],
        Identities: ['readWrite'],
        Memberships: ['readWrite'],
        Catalog: ['readWrite'],
        Frozen: ['readDelete'],
        Groups: ['readWrite'],
        EventsQueue: ['consume', 'send'],
        EventsDeadLetterQueue: ['send'],
        Bus: ['publish'],
        '/archive/*': ['ListBucket', 'objects:readWrite'],
        // Erasure: every identifier of the person; the snapshot files are the snapshot function's.
        'Identities/index/byProfile': ['query'],
      },
      Admin: {
        Catalog: ['readWrite'],
        Profiles: ['read'],
        Identities: ['read'],
        Memberships: ['read'],
        Frozen: ['read'],
        Groups: ['read'],
        EventsQueue: ['send'],
        EventsDeadLetterQueue: ['GetQueueAttributes'],
        '/esp/*': ['objects:read'],
        '/audiences/*': ['objects:read'],
        '/holdouts/*': ['objects:read'],
        Bus: ['publish'],
      },
      Snapshot: {
        Catalog: ['readWrite'],
        Memberships: ['read'],
        Profiles: ['read'],
        Frozen: ['read'],
        Groups: ['read'],
        // Listing under audiences/ only: an erasure's scrub lists the run folders.
        '/audiences/*': ['ListBucket', 'objects:readWrite'],
        '/holdouts/*': ['objects:readWrite'],
        '/esp/*': ['objects:readWrite'],
        Bus: ['publish'],
      },
      Freeze: {
        Catalog: ['readWrite'],
        Profiles: ['readWrite'],
        Memberships: ['readWrite'],
        Frozen: ['readWrite'],
        Groups: ['read'],
        Bus: ['publish'],
      },
      Sweep: {
        Catalog: ['readWrite'],
        Profiles: ['readWrite'],
        'Profiles/index/due': ['query'],
        Memberships: ['readWrite'],
        Frozen: ['read'],
        Groups: ['read'],
        Bus: ['publish'],
      },
      // CDK's console deployer, at deploy time: reads its assets, writes the console's bucket, invalidates the page.
      CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756CService: {
        'cdk-hnb659fds-assets': ['GetObject*+GetBucket*+List*'],
        ConsoleAssets: ['objects:readWrite'],
        '"*"': ['GetInvalidation+CreateInvalidation'],
      },
    });
  });
});

describe('console hosting', () => {
  it('serves the built console from a private bucket through CloudFront, with the API under /v1/* uncached', () => {
    const distribution = resources(service, 'AWS::CloudFront::Distribution')[0]!.Properties.DistributionConfig;
    const api = distribution.CacheBehaviors.find((b: { PathPattern: string }) => b.PathPattern === '/v1/*');
    expect(api).toMatchObject({
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: expect.arrayContaining(['GET', 'POST', 'PUT', 'DELETE']),
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled: lets the Authorization header through
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // Managed-AllViewerExceptHostHeader
    });
    expect(distribution.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(distribution.DefaultCacheBehavior.FunctionAssociations).toHaveLength(1);
    expect(distribution.Origins.find((o: { S3OriginConfig?: unknown }) => o.S3OriginConfig).OriginAccessControlId).toBeDefined();
    expect(distribution.Logging.Prefix).toBe('console-distribution/');
    const assets = Object.entries(service.findResources('AWS::S3::Bucket')).find(([id]) => id.startsWith('ConsoleAssets'))![1] as Resource;
    expect(assets.Properties.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true, RestrictPublicBuckets: true });
    expect(resources(service, 'Custom::CDKBucketDeployment').map((d) => d.Properties.DestinationBucketKeyPrefix)).toEqual([
      'console/',
      'console/',
    ]);
    expect(Object.keys(service.findOutputs('*')).some((key) => key.startsWith('ConsoleConsoleUrl'))).toBe(true);
  });

  it('serves the console with a tight Content-Security-Policy, nosniff, no framing, no referrer and HSTS', () => {
    const distribution = resources(service, 'AWS::CloudFront::Distribution')[0]!.Properties.DistributionConfig;
    const [policyId] = Object.keys(service.findResources('AWS::CloudFront::ResponseHeadersPolicy'));
    expect(distribution.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: policyId });
    service.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: {
        SecurityHeadersConfig: {
          ContentSecurityPolicy: {
            ContentSecurityPolicy:
              "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            Override: true,
          },
          ContentTypeOptions: { Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
          ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
          StrictTransportSecurity: { AccessControlMaxAgeSec: 31_536_000, IncludeSubdomains: true, Override: true },
        },
      },
    });
  });
});

describe('admin API behind a JWT authorizer', () => {
  it('uses the OIDC issuer and audience given, for the admin routes only', () => {
    const context = {
      'prisme:adminJwt': { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc', audience: ['prisme-console'] },
    };
    const jwt = Template.fromStack(
      buildApp(new App({ context, outdir: `${process.env.TMPDIR ?? '/tmp'}/prisme-cdk-jwt-${process.pid}` })).service,
    );
    jwt.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc', Audience: ['prisme-console'] },
    });
    const routes = resources(jwt, 'AWS::ApiGatewayV2::Route').map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType]);
    expect(routes).toContainEqual(['ANY /v1/{proxy+}', 'JWT']);
    expect(routes.filter(([key]) => String(key).startsWith('POST')).every(([, type]) => type === 'NONE')).toBe(true);
    expect(() => buildApp(new App({ context: { 'prisme:adminJwt': { issuer: 'http://insecure', audience: [] } } }))).toThrow(
      /prisme:adminJwt: issuer must be an https URL; audience/,
    );
  }, 60_000);
});

describe('ESP access', () => {
  it('lets an ESP account read only its preset folder, with its external id, and outputs the role to give it', () => {
    const role = resources(data, 'AWS::IAM::Role').find((r) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('111122223333'),
    )!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Condition).toEqual({
      StringEquals: { 'sts:ExternalId': 'braze-ext-id-1234' },
    });
    const policy = JSON.stringify(
      resources(data, 'AWS::IAM::Policy').find((p) => JSON.stringify(p.Properties.Roles).includes('EspAccessBraze'))!.Properties
        .PolicyDocument,
    );
    expect(policy).toContain('/esp/braze/*');
    expect(policy).toContain('"s3:prefix":["esp/braze/*"]');
    expect(policy).not.toContain('s3:PutObject');
    expect(Object.keys(data.findOutputs('*')).filter((id) => id.startsWith('EspAccessBrazeRoleArn'))).toHaveLength(1);
  });

  it('refuses a public URL that is not https at synth time, and ships the browser library with ingest', () => {
    expect(() => buildApp(new App({ context: { 'prisme:publicUrl': 'http://events.example.com' } }))).toThrow(
      /prisme:publicUrl: must be an https URL/,
    );
    const ingest = resources(service, 'AWS::Lambda::Function').find((fn) => fn.Properties.Description?.startsWith('Segment Tracking API'))!;
    expect(ingest.Properties.Environment.Variables.PRISME_BROWSER_LIBRARY_DIR).toBe('/var/task/browser-library');
    expect(ingest.Properties.Environment.Variables.PRISME_PUBLIC_URL).toBeUndefined();
  });

  it('refuses a malformed ESP access at synth time', () => {
    const context = { 'prisme:espAccess': [{ preset: 'braze', account: '42', externalId: 'x' }] };
    expect(() => buildApp(new App({ context }))).toThrow(
      /prisme:espAccess: 0\.account must be a 12-digit AWS account id; 0\.externalId must be at least 8 characters/,
    );
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('passes the identity settings of the deploying shell to the functions that resolve identifiers, and only those', () => {
    const withSetting = resources(service, 'AWS::Lambda::Function')
      .filter((fn) => fn.Properties.Environment?.Variables?.PRISME_IDENTITY_LIMITS === 'email:2')
      .map((fn) => fn.Properties.Description);
    expect(withSetting.sort()).toEqual([
      'Admin API: profiles, segments, audiences, jobs',
      'Resolve identities, fold events into profiles, evaluate segments',
      'Segment Tracking API: validate, authenticate, enqueue', // it refuses events that would identify nobody
    ]);
  });

  it('refuses a malformed freeze schedule at synth time', () => {
    process.env.PRISME_FREEZE_CRON = '0 3 * *';
    try {
      expect(() => buildApp(new App())).toThrow('PRISME_FREEZE_CRON: "0 3 * *" should have five fields');
    } finally {
      delete process.env.PRISME_FREEZE_CRON;
    }
  });

  it('refuses a malformed identity setting at synth time', () => {
    process.env.PRISME_IDENTITY_LIMITS = 'email:lots';
    try {
      expect(() => buildApp(new App())).toThrow('PRISME_IDENTITY_LIMITS: "email:lots" should read type:limit');
    } finally {
      delete process.env.PRISME_IDENTITY_LIMITS;
    }
  });

  it('synthesises with zero unacknowledged findings, each acknowledgement with a reason', () => {
    expect(() => app.synth()).not.toThrow();
  });

  it('is really checking: an unencrypted, unacknowledged queue fails the synth', () => {
    const bad = buildApp(new App({ outdir: `${process.env.TMPDIR ?? '/tmp'}/prisme-cdk-bad-${process.pid}` }));
    new Queue(bad.data, 'Careless', { encryption: QueueEncryption.UNENCRYPTED });
    expect(() => bad.app.synth()).toThrow(/AwsSolutions-SQS2/);
  });
});
