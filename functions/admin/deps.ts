/** What the admin API works with: the stores, the queue and bus, and its settings. */

import type { IdentityConfig } from '#shared/domain/identity';
import { routeFor } from '#shared/http/router';
import type { Logger } from '#shared/logger';
import type { CatalogStore } from '#shared/ports/catalog';
import type { EventPublisher } from '#shared/ports/event-publisher';
import type { EventQueue } from '#shared/ports/event-queue';
import type { FrozenStore } from '#shared/ports/frozen';
import type { GroupStore } from '#shared/ports/groups';
import type { IdentityStore } from '#shared/ports/identities';
import type { MembershipStore } from '#shared/ports/memberships';
import type { ObjectStore } from '#shared/ports/objects';
import type { ProfileStore } from '#shared/ports/profiles';
import type { SeenStore } from '#shared/ports/seen';

export interface AdminDeps {
  catalog: CatalogStore;
  profiles: ProfileStore;
  identities: IdentityStore;
  memberships: MembershipStore;
  frozen: Pick<FrozenStore, 'getMany'>;
  /** The profile's groups (accounts) and their traits, for the profile view, explain and previews. */
  groups: Pick<GroupStore, 'getMany'>;
  /** Presigns links to ESP files, for ESPs that import from a URL; reads runs for their KPIs. */
  objects: Pick<ObjectStore, 'presignedGetUrl' | 'get' | 'getStream'>;
  queue: EventQueue;
  publisher: EventPublisher;
  /** What was seen (event names, property keys, traits), for the console's autocomplete. */
  seen: Pick<SeenStore, 'list'>;
  logger: Logger;
  now: () => number;
  /** Wait before a segment's first evaluation over stored profiles (see `segmentEvaluationDelaySeconds`). */
  segmentEvaluationDelaySeconds: number;
  identity?: IdentityConfig;
  /** How long a preview may scan profiles before answering with a partial count. */
  previewBudgetMs: number;
  /** Bearer token required on every call; undefined when the gateway authorises (IAM on AWS). */
  adminToken?: string;
}

/** Defines an admin route: typed where it is written, one row of its module's table. */
export const route = routeFor<AdminDeps>();
