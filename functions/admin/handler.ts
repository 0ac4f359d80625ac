import { createLogger } from '../../shared/logger';
import { fromEnv } from '../../shared/wiring';
import { createAdminHandler } from './admin';

export const handler = createAdminHandler({
  catalog: fromEnv.catalog(),
  profiles: fromEnv.profiles(),
  identities: fromEnv.identities(),
  memberships: fromEnv.memberships(),
  queue: fromEnv.queue(),
  publisher: fromEnv.publisher(),
  logger: createLogger('admin'),
  now: Date.now,
  // Set locally; on AWS the HTTP API's IAM authorizer guards the routes instead.
  adminToken: process.env.ADMIN_TOKEN || undefined,
});
