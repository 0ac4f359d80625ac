import { createLogger } from '../../shared/logger';
import { fromEnv } from '../../shared/wiring';
import { createSnapshotHandler } from './snapshot';

export const handler = createSnapshotHandler({
  catalog: fromEnv.catalog(),
  memberships: fromEnv.memberships(),
  profiles: fromEnv.profiles(),
  frozen: fromEnv.frozen(),
  groups: fromEnv.groups(),
  objects: fromEnv.objects(),
  publisher: fromEnv.publisher(),
  logger: createLogger('snapshot'),
  now: Date.now,
});
