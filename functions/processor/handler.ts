import { traced } from '#shared/adapters/tracing';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { eventQueue } from '#shared/resources';
import { identityConfigOf } from '#shared/settings';
import { CounterBuffer } from '#shared/usecases/counter-buffer';
import { RulesCache } from '#shared/usecases/rules-cache';
import { SeenBuffer } from '#shared/usecases/seen-buffer';
import { adaptersOf, metricsOf, newProfileId, profileWriter } from '#shared/wiring';
import { createProcessorHandler } from './processor';

const config = loadConfig('processor');
const adapters = adaptersOf(config);
const { settings } = config;
const logger = createLogger('processor');
const counters = new CounterBuffer(adapters.catalog());
const seen = new SeenBuffer(adapters.seen(), Date.now);
const metrics = metricsOf(config);

export const handler = traced(
  createProcessorHandler({
    identities: adapters.identities(),
    profiles: adapters.profiles(),
    catalog: adapters.catalog(),
    memberships: adapters.memberships(),
    frozen: adapters.frozen(),
    groups: adapters.groups(),
    publisher: adapters.publisher(),
    now: Date.now,
    queue: adapters.queue(),
    archive: adapters.objects(),
    writer: profileWriter(adapters, logger, { merges: true, counters, metrics }),
    metrics,
    counters,
    seen,
    rules: new RulesCache(adapters.catalog(), settings.SEGMENT_CACHE_TTL_MS),
    logger,
    newProfileId: () => newProfileId(),
    concurrency: settings.PROFILE_WRITE_CONCURRENCY,
    identity: identityConfigOf(settings),
    maxReceiveCount: eventQueue.maxReceiveCount,
  }),
  config.settings.PRISME_TRACING,
);
