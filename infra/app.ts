/** The CDK app: `npx cdk synth` offline, `npx cdk deploy --all` to AWS. */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configuredSchedules } from '../shared/schedule-settings';
import { IDENTITY_SETTINGS, identityConfigFromEnv } from '../shared/wiring';
import { PrismeAppStack } from './app-stack';
import { PrismeStatefulStack } from './stateful-stack';

export function buildApp(app = new App()): { app: App; data: PrismeStatefulStack; service: PrismeAppStack } {
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const data = new PrismeStatefulStack(app, 'PrismeData', { env, description: 'Prisme: tables, queues, bucket, event bus' });
  identityConfigFromEnv(); // a malformed identity setting fails the synth, not the first event on AWS
  const settings = Object.fromEntries(IDENTITY_SETTINGS.flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])));
  const service = new PrismeAppStack(app, 'Prisme', { env, data, settings, schedules: configuredSchedules(), description: 'Prisme: HTTP API, functions, schedules' });
  Tags.of(app).add('application', 'prisme');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, data, service };
}

if (import.meta.url === `file://${process.argv[1]}`) buildApp().app.synth();
