import { traced } from '#shared/adapters/tracing';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { identityConfigOf } from '#shared/settings';
import { adaptersOf } from '#shared/wiring';
import { createAdminHandler } from './admin';

const config = loadConfig('admin');
const adapters = adaptersOf(config);
const { settings } = config;

export const handler = traced(
  createAdminHandler({
    catalog: adapters.catalog(),
    profiles: adapters.profiles(),
    identities: adapters.identities(),
    memberships: adapters.memberships(),
    frozen: adapters.frozen(),
    groups: adapters.groups(),
    objects: adapters.objects(),
    queue: adapters.queue(),
    publisher: adapters.publisher(),
    seen: adapters.seen(),
    logger: createLogger('admin'),
    now: Date.now,
    identity: identityConfigOf(settings),
    segmentEvaluationDelaySeconds: settings.SEGMENT_EVALUATION_DELAY_S,
    previewBudgetMs: settings.PREVIEW_BUDGET_MS,
    // Set locally; on AWS the HTTP API's IAM (or JWT) authorizer guards the routes instead.
    adminToken: settings.ADMIN_TOKEN,
  }),
  config.settings.PRISME_TRACING,
);
