import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { adaptersOf } from '#shared/wiring';
import { createSnapshotHandler } from './snapshot';

const adapters = adaptersOf(loadConfig('snapshot'));

export const handler = createSnapshotHandler({
  catalog: adapters.catalog(),
  memberships: adapters.memberships(),
  profiles: adapters.profiles(),
  frozen: adapters.frozen(),
  groups: adapters.groups(),
  objects: adapters.objects(),
  publisher: adapters.publisher(),
  logger: createLogger('snapshot'),
  now: Date.now,
});
