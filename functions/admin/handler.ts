import { getNumberFromEnv } from '../../shared/env';
import { createLogger } from '../../shared/logger';
import { segmentEvaluationDelaySeconds } from '../../shared/resources';
import { fromEnv, identityConfigFromEnv } from '../../shared/wiring';
import { createAdminHandler } from './admin';

export const handler = createAdminHandler({
  catalog: fromEnv.catalog(),
  profiles: fromEnv.profiles(),
  identities: fromEnv.identities(),
  memberships: fromEnv.memberships(),
  frozen: fromEnv.frozen(),
  groups: fromEnv.groups(),
  objects: fromEnv.objects(),
  queue: fromEnv.queue(),
  publisher: fromEnv.publisher(),
  logger: createLogger('admin'),
  now: Date.now,
  identity: identityConfigFromEnv(),
  segmentEvaluationDelaySeconds: getNumberFromEnv('SEGMENT_EVALUATION_DELAY_S', segmentEvaluationDelaySeconds),
  // Under the HTTP API's 30 s integration limit.
  previewBudgetMs: getNumberFromEnv('PREVIEW_BUDGET_MS', 20_000),
  // Set locally; on AWS the HTTP API's IAM authorizer guards the routes instead.
  adminToken: process.env.ADMIN_TOKEN || undefined,
});
