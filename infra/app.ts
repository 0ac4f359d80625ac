/** The CDK app: `npx cdk synth` offline, `npx cdk deploy --all` to AWS. */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { z } from 'zod';
import { ESP_PRESETS } from '#shared/domain/audiences';
import { configuredSchedules } from '#shared/schedule-settings';
import { IDENTITY_SETTINGS, identityConfigFrom } from '#shared/settings';
import { PrismeAppStack } from './app-stack';
import { type EspAccess, PrismeStatefulStack } from './stateful-stack';

export function buildApp(app = new App()): { app: App; data: PrismeStatefulStack; service: PrismeAppStack } {
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const data = new PrismeStatefulStack(app, 'PrismeData', {
    env,
    espAccess: espAccessOf(app),
    description: 'Prisme: tables, queues, bucket, event bus',
  });
  identityConfigFrom(process.env); // a malformed identity setting fails the synth, not the first event on AWS
  const settings = Object.fromEntries(IDENTITY_SETTINGS.flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])));
  const service = new PrismeAppStack(app, 'Prisme', {
    env,
    data,
    settings,
    schedules: configuredSchedules(),
    adminJwt: fromContext(app, 'prisme:adminJwt', adminJwtSchema),
    publicUrl: fromContext(app, 'prisme:publicUrl', publicUrlSchema),
    alarmEmail: fromContext(app, 'prisme:alarmEmail', alarmEmailSchema),
    tracing: fromContext(app, 'prisme:tracing', z.boolean()) ?? false,
    description: 'Prisme: HTTP API, functions, schedules',
  });
  Tags.of(app).add('application', 'prisme');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, data, service };
}

/**
 * ESPs that read their folder from their own AWS account: context `prisme:espAccess`, in cdk.json or
 * `-c 'prisme:espAccess=[{"preset":"braze","account":"123456789012","externalId":"..."}]'`.
 */
function espAccessOf(app: App): EspAccess[] {
  return fromContext(app, 'prisme:espAccess', espAccessSchema) ?? [];
}

/** A JSON setting from the CDK context (cdk.json or -c), checked: a malformed one fails the synth. */
function fromContext<T>(app: App, key: string, schema: z.ZodType<T>): T | undefined {
  const raw = app.node.tryGetContext(key) as unknown;
  if (raw === undefined) return undefined;
  const parsed = schema.safeParse(typeof raw === 'string' ? jsonOrText(raw) : raw);
  if (!parsed.success)
    throw new Error(`${key}: ${parsed.error.issues.map((i) => [i.path.join('.'), i.message].filter(Boolean).join(' ')).join('; ')}`);
  return parsed.data;
}

/** `-c key=value` gives text: JSON when it reads as JSON (objects, lists), the text itself otherwise (a URL). */
function jsonOrText(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * The admin API behind a JWT authorizer instead of IAM: context `prisme:adminJwt`, e.g.
 * `-c 'prisme:adminJwt={"issuer":"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc","audience":["client-id"]}'`.
 */
const adminJwtSchema = z.strictObject({
  issuer: z.string().url().startsWith('https://', 'must be an https URL'),
  audience: z.array(z.string().min(1)).min(1),
});

/** The ingest API's address behind a custom domain: context `prisme:publicUrl`, e.g. `-c prisme:publicUrl=https://events.example.com`. */
const publicUrlSchema = z.string().url().startsWith('https://', 'must be an https URL');

/** Who hears the alarms: context `prisme:alarmEmail`, e.g. `-c prisme:alarmEmail=ops@example.com`. */
const alarmEmailSchema = z.email();

const espAccessSchema = z.array(
  z.strictObject({
    preset: z.enum(ESP_PRESETS),
    account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
    externalId: z.string().min(8, 'must be at least 8 characters').max(1224),
  }),
);

if (import.meta.url === `file://${process.argv[1]}`) buildApp().app.synth();
