/** What the admin API works with: the stores, the queue and bus, and its settings. */
import type { CatalogStore } from '../../shared/adapters/dynamodb/catalog-store';
import type { FrozenStore } from '../../shared/adapters/dynamodb/frozen-store';
import type { GroupStore } from '../../shared/adapters/dynamodb/group-store';
import type { IdentityStore } from '../../shared/adapters/dynamodb/identity-store';
import type { MembershipStore } from '../../shared/adapters/dynamodb/membership-store';
import type { ProfileStore } from '../../shared/adapters/dynamodb/profile-store';
import type { EventPublisher } from '../../shared/adapters/eventbridge/event-publisher';
import type { ObjectStore } from '../../shared/adapters/s3/object-store';
import type { EventQueue } from '../../shared/adapters/sqs/event-queue';
import type { IdentityConfig } from '../../shared/domain/identity';
import type { Logger } from '../../shared/logger';
import { routeFor } from '../../shared/http/router';

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
