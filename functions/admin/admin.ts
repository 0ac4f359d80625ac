/**
 * The admin API: profiles, segments, audiences, jobs. Write keys never reach it:
 * it sits behind IAM on AWS and a bearer token locally.
 */
import type middy from '@middy/core';
import { randomUUID } from 'node:crypto';
import type { CatalogStore } from '../../shared/adapters/dynamodb/catalog-store';
import type { IdentityStore } from '../../shared/adapters/dynamodb/identity-store';
import type { MembershipStore } from '../../shared/adapters/dynamodb/membership-store';
import type { FrozenStore } from '../../shared/adapters/dynamodb/frozen-store';
import type { GroupStore } from '../../shared/adapters/dynamodb/group-store';
import { GroupTraitsReader } from '../../shared/usecases/group-traits';
import type { ObjectStore } from '../../shared/adapters/s3/object-store';
import type { ProfileStore } from '../../shared/adapters/dynamodb/profile-store';
import { followMerges } from '../../shared/usecases/follow-merges';
import { DETAIL_TYPES, type EventPublisher } from '../../shared/adapters/eventbridge/event-publisher';
import type { EventQueue } from '../../shared/adapters/sqs/event-queue';
import { AUDIENCE_ID_PATTERN, audienceInputSchema, changesExport, newRunId, type Approval, type Audience, type AudienceInput, type Manifest } from '../../shared/domain/audiences';
import type { AggregateSpec } from '../../shared/domain/aggregates';
import { consentView } from '../../shared/domain/consent';
import { explain } from '../../shared/domain/explain';
import {
  DEFAULT_INDICATOR_SETTINGS,
  DEFINITION_IDS,
  ALL_INDICATORS,
  FROZEN_INDICATORS,
  definitionSchemas,
  isFrozenIndicator,
  presentIndicators,
  type DefinitionId,
  type IndicatorDefinition,
  type IndicatorModel,
  type IndicatorSettings,
} from '../../shared/domain/indicators';
import { IDENTIFIER_TYPES, identifierKey, normaliseIdentifierType, normaliseLookup, type IdentityConfig } from '../../shared/domain/identity';
import { perEventAndChannel, totalCount, type Profile } from '../../shared/domain/profile';
import { hashWriteKey, newWriteKey, sourceInputSchema, sourceUpdateSchema } from '../../shared/domain/sources';
import { z } from 'zod';
import {
  CONDITION_LANGUAGE_VERSION,
  MAX_SEGMENTS,
  SEGMENT_ID_PATTERN,
  SegmentGraphError,
  compile,
  conditionSchema,
  type Condition,
  orderByDependencies,
  segmentInputSchema,
  aggregateSpecsOf,
  aggregateStarts,
  dependenciesOf,
  segmentHistory,
  segmentJsonSchema,
  segmentReferences,
  type Segment,
} from '../../shared/domain/segments';
import { ApiError, VersionConflictError, badRequest, conflict, notFound } from '../../shared/errors';
import { header, httpHandler, json, jsonBody, secretsEqual, type HttpEvent, type HttpHandler, type HttpResult } from '../../shared/http/api';
import { Router, type RouteSpec } from '../../shared/http/router';
import type { Logger } from '../../shared/logger';
import { indicatorModel, segmentsWithModel } from '../../shared/usecases/catalog-view';
import { FREEZE_SCOPE, INDICATORS_SCOPE, indicatorRunId } from '../../shared/usecases/reevaluate';
import { audienceSizes, conversion } from '../../shared/usecases/audience-kpis';
import { ERASURES_SCOPE, newErasureId } from '../../shared/usecases/erase-profile';
import { REPLAY_SCOPE } from '../../shared/usecases/replay';
import { BACKFILL_SCOPE, backfillRunId } from '../../shared/usecases/backfill';
import { exportSize, runScope } from '../../shared/usecases/take-snapshot';

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

const MAX_PAGE = 1000;

/** Middleware: rejects calls without the admin bearer token, before any route runs. */
function bearerToken(token: string): middy.MiddlewareObj<HttpEvent, HttpResult> {
  return {
    before: async (request) => {
      const given = header(request.event, 'authorization')?.match(/^Bearer\s+(.+)$/i)?.[1];
      if (!given || !secretsEqual(given, token)) {
        throw new ApiError(401, 'unauthorized', 'admin API requires "Authorization: Bearer <admin token>"', [], {
          'www-authenticate': 'Bearer realm="prisme-admin"',
        });
      }
    },
  };
}

export function createAdminHandler(deps: AdminDeps): HttpHandler & { routes: RouteSpec[] } {
  const { catalog, memberships } = deps;
  const iso = () => new Date(deps.now()).toISOString();
  const router = new Router();

  /** Dynamic indicators as of now, with the frozen ones of the last freeze. */
  const indicatorsOf = async (profile: Profile, model: IndicatorModel, now = deps.now()) => {
    const [frozen] = await deps.frozen.getMany([profile.profileId]);
    return { values: { ...model.valuesOf(profile, now), ...frozen?.values }, frozenAt: frozen?.frozenAt };
  };

  /** The profile's groups with their traits, the most recently joined first. */
  const groupsOf = async (profile: Profile) => {
    const stored = await new GroupTraitsReader(deps.groups).groupsOf(profile);
    return stored.map((group) => ({
      groupId: group.groupId,
      joinedAt: new Date(profile.groups![group.groupId]!).toISOString(),
      traits: group.traits,
      ...(group.updatedAt && { updatedAt: group.updatedAt }),
    }));
  };

  const profileView = async (profile: Profile) => {
    const [{ segments, model }, groups] = await Promise.all([segmentsWithModel(catalog), groupsOf(profile)]);
    const { values, frozenAt } = await indicatorsOf(profile, model);
    // Stage memberships show as indicators (lifecycle_stage, intent_stage), not among the segments.
    const names = new Map(segments.filter((s) => !s.managedBy).map((s) => [s.id, s.name]));
    const member = profile.segments.filter((id) => names.has(id));
    const entered = member.length > 0 ? await memberships.enteredAt(profile.profileId, member) : new Map<string, string>();
    const events = perEventAndChannel(profile, totalCount);
    return {
      profileId: profile.profileId,
      firstSeen: profile.firstSeen,
      lastSeen: profile.lastSeen,
      identifiers: profile.identifiers,
      identifierDetails: Object.entries(profile.identifiers).flatMap(([type, values]) =>
        (values ?? []).map((value) => {
          const seen = profile.identifierSeen?.[`${type}:${value}`];
          return { type, value, ...(seen && { firstSeen: new Date(seen[0]).toISOString(), lastSeen: new Date(seen[1]).toISOString(), source: seen[2] }) };
        }),
      ),
      traits: profile.traits,
      groups,
      channels: profile.channels,
      events,
      segments: member.map((id) => ({ id, name: names.get(id), ...(entered.has(id) && { enteredAt: entered.get(id) }) })),
      indicators: presentIndicators(values),
      consents: consentView(profile.consents),
      ...(frozenAt && { frozenAt }),
      version: profile.version,
      ...(profile.mergedFrom && { mergedFrom: profile.mergedFrom }),
    };
  };

  /** The profile owning exactly one identifier given in the query (`?email=...`, `?crm_id=...`). */
  const profileByIdentifier = async (query: Record<string, string>): Promise<Profile> => {
    // A built-in identifier type, or a custom one from context.externalIds (`?crm_id=123`).
    const given = Object.keys(query).filter((key) => query[key] && ((IDENTIFIER_TYPES as readonly string[]).includes(key) || normaliseIdentifierType(key) === key));
    if (given.length !== 1) {
      throw badRequest(`give exactly one identifier: ${IDENTIFIER_TYPES.join(', ')} or a custom id type`, [{ path: 'query', message: 'one identifier required' }]);
    }
    const type = given[0]!;
    const value = normaliseLookup(type, query[type]!, deps.identity);
    if (!value) throw badRequest(`not a valid ${type}`, [{ path: type, message: 'invalid' }]);
    const owner = (await deps.identities.owners([identifierKey({ type, value })])).values().next().value;
    const profile = owner ? await liveProfile(owner) : undefined;
    if (!profile) throw notFound(`profile with ${type} ${value}`);
    return profile;
  };

  /** The right to erasure (GDPR art. 17): done by the processor, through the queue, retried until complete. */
  const requestErasure = async (profile: Profile): Promise<HttpResult> => {
    const erasureId = newErasureId(deps.now());
    await catalog.putRun(ERASURES_SCOPE, { runId: erasureId, status: 'requested', startedAt: iso() });
    await deps.queue.send({ v: 1, kind: 'erase-profile', profileId: profile.profileId, erasureId });
    deps.logger.info('erasure requested', { erasureId });
    return json(202, { erasureId, status: 'requested', links: { erasure: `/v1/erasures/${erasureId}` } });
  };

  /** A merged-away id leads to the profile that absorbed it. */
  const liveProfile = async (profileId: string): Promise<Profile | undefined> => (await followMerges(deps.profiles, profileId)).profile;

  const limitOf = (query: Record<string, string>) => {
    const limit = query.limit === undefined ? 100 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw badRequest(`limit must be 1 to ${MAX_PAGE}`, [{ path: 'limit', message: 'out of range' }]);
    return limit;
  };

  router
    .on('GET', '/v1/profiles', async ({ query }) => json(200, await profileView(await profileByIdentifier(query))))
    .on('DELETE', '/v1/profiles', async ({ query }) => requestErasure(await profileByIdentifier(query)))
    .on('DELETE', '/v1/profiles/{profileId}', async ({ params }) => {
      const profile = await liveProfile(params.profileId!);
      if (!profile) throw notFound(`profile ${params.profileId}`);
      return requestErasure(profile);
    })
    .on('GET', '/v1/erasures', async ({ query }) => json(200, { erasures: await catalog.listRuns(ERASURES_SCOPE, limitOf(query)) }))
    .on('GET', '/v1/erasures/{erasureId}', async ({ params }) => {
      const erasure = await catalog.getRun(ERASURES_SCOPE, params.erasureId!);
      if (!erasure) throw notFound(`erasure ${params.erasureId}`);
      return json(200, erasure);
    })
    .on('GET', '/v1/profiles/{profileId}/export', async ({ params }) => {
      // The right of access (GDPR art. 15): everything Prisme keeps about the person, in JSON.
      const profile = await liveProfile(params.profileId!);
      if (!profile) throw notFound(`profile ${params.profileId}`);
      const view = await profileView(profile);
      const events = perEventAndChannel(profile, (buckets) => {
        const days: Array<{ day: string; count: number }> = [];
        for (let i = 0; i < buckets.length; i += 2) days.push({ day: new Date(buckets[i]! * 86_400_000).toISOString().slice(0, 10), count: buckets[i + 1]! });
        return days;
      });
      return json(200, {
        exportedAt: iso(),
        ...view,
        traitsUpdatedAt: Object.fromEntries(Object.entries(profile.traitsAt).map(([trait, at]) => [trait, new Date(at).toISOString()])),
        categories: profile.categories ?? {},
        events,
        mergedProfiles: profile.mergedFrom ?? [],
        note: 'Behaviour is kept on the profile as counts per event, channel and day (weeks beyond 35 days, 400 days in all). Raw events are kept only in the sealed event archive for replays, which has no index by person; they become unreadable when the person is erased.',
      });
    })
    .on('GET', '/v1/profiles/{profileId}', async ({ params }) => {
      const profile = await liveProfile(params.profileId!);
      if (!profile) throw notFound(`profile ${params.profileId}`);
      return json(200, await profileView(profile));
    })
    .on('GET', '/v1/profiles/{profileId}/identity', async ({ params }) => {
      const profile = await liveProfile(params.profileId!);
      if (!profile) throw notFound(`profile ${params.profileId}`);
      const absorbed = await deps.profiles.getMany(profile.mergedFrom ?? []);
      return json(200, {
        profileId: profile.profileId,
        requestedId: params.profileId,
        identifiers: profile.identifiers,
        firstSeen: profile.firstSeen,
        merged: absorbed.map((p) => ({
          profileId: p.profileId,
          firstSeen: p.firstSeen,
          mergedAt: profile.mergedAt?.[p.profileId] === undefined ? undefined : new Date(profile.mergedAt[p.profileId]!).toISOString(),
          mergedInto: p.mergedInto,
          completed: p.mergeCompleted === true,
        })),
      });
    })
    .on('GET', '/v1/profiles/{profileId}/segments/{segmentId}/explain', async ({ params }) => {
      const [profile, segment, model] = await Promise.all([deps.profiles.get(params.profileId!), catalog.segments.get(params.segmentId!), indicatorModel(catalog)]);
      if (!profile) throw notFound(`profile ${params.profileId}`);
      if (!segment) throw notFound(`segment ${params.segmentId}`);
      const now = deps.now();
      const [{ values }, groups] = await Promise.all([indicatorsOf(profile, model, now), new GroupTraitsReader(deps.groups).groupsOf(profile)]);
      const explanation = explain(segment.condition, profile, now, new Set(profile.segments), values, groups);
      return json(200, {
        profileId: profile.profileId,
        segmentId: segment.id,
        segmentRevision: segment.revision,
        // The stored membership, from the last evaluation; `explanation.held` is the condition as of now.
        member: profile.segments.includes(segment.id),
        evaluatedAt: new Date(now).toISOString(),
        explanation,
      });
    })
    .on('POST', '/v1/segments/preview', async ({ event }) => {
      const { condition, sampleSize, budgetMs } = previewInputSchema.parse(jsonBody(event));
      const { segments, model } = await segmentsWithModel(catalog);
      try {
        orderByDependencies([...segments, { id: '(preview)', condition }]);
      } catch (error) {
        if (error instanceof SegmentGraphError) throw badRequest(error.message, [{ path: 'condition', message: error.message }]);
        throw error;
      }
      // Filtered figures, sequences and the occurrences at rolling windows' edges only exist once a saved segment (or an indicator) asks for them.
      const maintained = new Set([...model.specs.map((spec) => spec.id), ...segments.flatMap((s) => aggregateSpecsOf(s.condition).map((spec) => spec.id))]);
      const missing = aggregateSpecsOf(condition).filter((spec) => !maintained.has(spec.id));
      const preview = await previewSegment(condition, model, dependenciesOf(condition).indicators.some(isFrozenIndicator), deps, { sampleSize, budgetMs });
      return json(200, {
        ...preview,
        ...(missing.length > 0 && {
          warning: `${missing.length} part(s) of this condition (property filters, figures, sequences or the latest occurrences a rolling window reads at its edge) are not kept yet, so this preview undercounts them: saving the segment starts keeping them and backfills them from the event archive`,
        }),
      });
    })
    .on('GET', '/v1/migrations', async ({ query }) => {
      const day = /^\d{4}-\d{2}-\d{2}$/;
      const to = query.to || iso().slice(0, 10);
      const from = query.from || new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
      if (!day.test(from) || !day.test(to) || from > to) throw badRequest('from and to are days (YYYY-MM-DD), from not after to', [{ path: 'from', message: 'invalid period' }]);
      if (Date.parse(to) - Date.parse(from) > 400 * 86_400_000) throw badRequest('a period spans at most 400 days', [{ path: 'from', message: 'period too long' }]);
      const totals = new Map<string, number>();
      for (const m of await catalog.migrations(from, to)) totals.set(`${m.from}>${m.to}`, (totals.get(`${m.from}>${m.to}`) ?? 0) + m.profiles);
      const migrations = [...totals].map(([pair, profiles]) => ({ from: pair.split('>')[0], to: pair.split('>')[1], profiles })).sort((a, b) => b.profiles - a.profiles);
      return json(200, { from, to, migrations });
    })
    .on('GET', '/v1/schemas/segment', async () => json(200, segmentJsonSchema()))
    .on('GET', '/v1/segments', async () => {
      const segments = await catalog.segments.list();
      const withSizes = await Promise.all(segments.map(async (s) => ({ ...s, size: await memberships.count(s.id) })));
      return json(200, { segments: withSizes });
    })
    .on('PUT', '/v1/segments/{segmentId}', async ({ event, params }) => {
      const id = params.segmentId!;
      if (!SEGMENT_ID_PATTERN.test(id)) throw badRequest('segment id must be 1-64 of a-z, 0-9, _ and -, starting with a letter or digit', [{ path: 'segmentId', message: 'invalid id' }]);
      const input = segmentInputSchema.parse(jsonBody(event));
      const { segments, model } = await segmentsWithModel(catalog);
      const others = segments.filter((s) => s.id !== id);
      if (others.length >= MAX_SEGMENTS) {
        throw conflict(`a catalog holds at most ${MAX_SEGMENTS} segments; delete one first`);
      }
      try {
        orderByDependencies([...others, { id, condition: input.condition }]);
      } catch (error) {
        if (error instanceof SegmentGraphError) throw badRequest(error.message, [{ path: 'condition', message: error.message }]);
        throw error;
      }
      // A stage segment is refused by the catalog's own put (409), like its deletion.
      const existing = segments.find((s) => s.id === id);
      const revision = (existing?.revision ?? 0) + 1;
      const starts = startsOf(input.condition, existing ? [...others, existing] : others, model.specs, deps.now() + deps.segmentEvaluationDelaySeconds * 1000);
      const segment: Segment = {
        ...input,
        id,
        revision,
        languageVersion: CONDITION_LANGUAGE_VERSION,
        status: 'building',
        createdAt: existing?.createdAt ?? iso(),
        updatedAt: iso(),
        ...(Object.keys(starts.specsSince).length > 0 && {
          aggregatesSince: Object.values(starts.specsSince).sort().at(-1),
          specsSince: starts.specsSince,
        }),
      };
      await putRevisioned(() => catalog.segments.put(segment));
      if (starts.newSpecs.length > 0) {
        // Older events come from the archive once every processor folds the new aggregates (twice the
        // delay: the last invocation started before `since` has ended); the first evaluation follows it.
        const runId = backfillRunId(id, revision);
        const since = starts.specsSince[starts.newSpecs[0]!]!;
        const progress = { segmentId: id, revision, specs: starts.newSpecs, since };
        await catalog.putRun(BACKFILL_SCOPE, { runId, status: 'running', startedAt: iso(), progress });
        await deps.queue.send({ v: 1, kind: 'backfill', runId, segmentId: id, revision, specs: starts.newSpecs, since }, Math.min(900, 2 * deps.segmentEvaluationDelaySeconds));
        deps.logger.info('segment saved, backfill requested', { segmentId: id, revision, runId });
        return json(existing ? 200 : 201, { ...segment, links: { backfill: `/v1/jobs/backfill/runs/${runId}` } });
      }
      // Existing profiles are evaluated by a job that walks them page by page through the queue.
      await deps.queue.send({ v: 1, kind: 'evaluate-segment', segmentId: id, revision }, deps.segmentEvaluationDelaySeconds);
      deps.logger.info('segment saved', { segmentId: id, revision });
      return json(existing ? 200 : 201, segment);
    })
    .on('GET', '/v1/segments/{segmentId}', async ({ params }) => {
      const segment = await catalog.segments.get(params.segmentId!);
      if (!segment) throw notFound(`segment ${params.segmentId}`);
      return json(200, { ...segment, size: await memberships.count(segment.id), dependsOn: dependenciesOf(segment.condition) });
    })
    .on('DELETE', '/v1/segments/{segmentId}', async ({ params }) => {
      const dependants = (await catalog.audiences.list()).filter((a) => a.segmentId === params.segmentId);
      if (dependants.length > 0) {
        throw conflict(`segment is used by audience(s) ${dependants.map((a) => a.id).join(', ')}`);
      }
      const referrers = (await catalog.segments.list()).filter((s) => segmentReferences(s.condition).includes(params.segmentId!));
      if (referrers.length > 0) {
        throw conflict(`segment is referred to by segment(s) ${referrers.map((s) => s.id).join(', ')}`);
      }
      if (!(await catalog.segments.delete(params.segmentId!))) throw notFound(`segment ${params.segmentId}`);
      return { statusCode: 204 };
    })
    .on('GET', '/v1/segments/{segmentId}/history', async ({ params, query }) => {
      const segment = await catalog.segments.get(params.segmentId!);
      if (!segment) throw notFound(`segment ${params.segmentId}`);
      const days = query.days === undefined ? 30 : Number(query.days);
      if (!Number.isInteger(days) || days < 1 || days > 400) throw badRequest('days must be 1 to 400', [{ path: 'days', message: 'out of range' }]);
      const now = deps.now();
      const fromDay = new Date(now - (days - 1) * 86_400_000).toISOString().slice(0, 10);
      const [size, changes] = await Promise.all([memberships.count(segment.id), catalog.dailyChanges(segment.id, fromDay)]);
      return json(200, { segmentId: segment.id, days: segmentHistory(size, changes, days, now) });
    })
    .on('GET', '/v1/segments/{segmentId}/members', async ({ params, query }) => {
      if (!(await catalog.segments.get(params.segmentId!))) throw notFound(`segment ${params.segmentId}`);
      const page = await memberships.members(params.segmentId!, query.cursor || undefined, limitOf(query));
      return json(200, { members: page.items, cursor: page.cursor ?? null });
    })
    .on('GET', '/v1/audiences', async () => json(200, { audiences: await catalog.audiences.list() }))
    .on('PUT', '/v1/audiences/{audienceId}', async ({ event, params }) => {
      const id = params.audienceId!;
      if (!AUDIENCE_ID_PATTERN.test(id)) throw badRequest('audience id must be 1-64 of a-z, 0-9, _ and -', [{ path: 'audienceId', message: 'invalid id' }]);
      const input = audienceInputSchema.parse(jsonBody(event));
      if (!(await catalog.segments.get(input.segmentId))) {
        throw badRequest(`segment ${input.segmentId} does not exist`, [{ path: 'segmentId', message: 'unknown segment' }]);
      }
      const existing = await catalog.audiences.get(id);
      // A new audience, or one whose export changes, waits for someone to approve it.
      const stillApproved = existing?.status === 'approved' && !changesExport(inputOf(existing), input);
      const audience: Audience = {
        ...input,
        id,
        revision: (existing?.revision ?? 0) + 1,
        status: stillApproved ? 'approved' : 'draft',
        ...(stillApproved && { approval: existing.approval }),
        createdAt: existing?.createdAt ?? iso(),
        updatedAt: iso(),
      };
      await putRevisioned(() => catalog.audiences.put(audience));
      deps.logger.info('audience saved', { audienceId: id, revision: audience.revision, status: audience.status });
      return json(existing ? 200 : 201, audience);
    })
    .on('GET', '/v1/audiences/{audienceId}', async ({ params }) => {
      const audience = await catalog.audiences.get(params.audienceId!);
      if (!audience) throw notFound(`audience ${params.audienceId}`);
      return json(200, audience);
    })
    .on('DELETE', '/v1/audiences/{audienceId}', async ({ params }) => {
      if (!(await catalog.audiences.delete(params.audienceId!))) throw notFound(`audience ${params.audienceId}`);
      return { statusCode: 204 };
    })
    .on('GET', '/v1/audiences/{audienceId}/preview', async ({ params }) => {
      // What an approval now would record, next to what was approved: the size change a reviewer weighs.
      const audience = await catalog.audiences.get(params.audienceId!);
      if (!audience) throw notFound(`audience ${params.audienceId}`);
      const { members, holdout } = await exportSize(audience, deps);
      const approvedSize = audience.approval?.size ?? null;
      const change = approvedSize === null || approvedSize === 0 ? null : (members - approvedSize) / approvedSize;
      return json(200, { audienceId: audience.id, status: audience.status, members, holdout, approvedSize, change });
    })
    .on('POST', '/v1/audiences/{audienceId}/approve', async ({ event, params }) => {
      const audience = await catalog.audiences.get(params.audienceId!);
      if (!audience) throw notFound(`audience ${params.audienceId}`);
      const { approvedBy } = approvalInputSchema.parse(event.body ? jsonBody(event) : {});
      // On AWS the caller's IAM or JWT identity; locally the name given, as the bearer token names nobody.
      const authorizer = (event.requestContext as { authorizer?: { iam?: { userArn?: string }; jwt?: { claims?: Record<string, unknown> } } }).authorizer;
      const jwtCaller = authorizer?.jwt?.claims?.email ?? authorizer?.jwt?.claims?.sub;
      const by = authorizer?.iam?.userArn ?? (typeof jwtCaller === 'string' ? jwtCaller : undefined) ?? approvedBy ?? 'local admin';
      // Counted as the snapshot's governance counts, so the approved size is the one it compares with.
      const { members: size, holdout } = await exportSize(audience, deps);
      const approval: Approval = { by, at: iso(), size, audienceRevision: audience.revision };
      const approved: Audience = { ...audience, revision: audience.revision + 1, status: 'approved', approval, updatedAt: iso() };
      await putRevisioned(() => catalog.audiences.put(approved));
      deps.logger.info('audience approved', { audienceId: audience.id, by, size, previousSize: audience.approval?.size ?? null });
      return json(200, {
        ...approved,
        previewedSize: size,
        holdout,
        previousApprovedSize: audience.approval?.size ?? null,
        ...(size < audience.minSize && { warning: `${size} members is under the minimum size of ${audience.minSize}: snapshots stay held until the audience grows` }),
      });
    })
    .on('POST', '/v1/audiences/{audienceId}/snapshots', async ({ params }) => {
      const audience = await catalog.audiences.get(params.audienceId!);
      if (!audience) throw notFound(`audience ${params.audienceId}`);
      if (audience.status !== 'approved') throw conflict(`audience ${audience.id} is a draft: approve it first (POST /v1/audiences/${audience.id}/approve)`);
      const runId = newRunId(deps.now());
      await catalog.putRun(runScope(audience.id), { runId, status: 'requested', startedAt: iso() });
      await deps.publisher.publish([{ detailType: DETAIL_TYPES.snapshotRequested, detail: { version: 1, audienceId: audience.id, runId } }]);
      return json(202, { audienceId: audience.id, runId, status: 'requested', links: { run: `/v1/audiences/${audience.id}/snapshots/${runId}` } });
    })
    .on('GET', '/v1/audiences/{audienceId}/snapshots', async ({ params, query }) =>
      json(200, { runs: await catalog.listRuns(runScope(params.audienceId!), limitOf(query)) }),
    )
    .on('GET', '/v1/audiences/{audienceId}/snapshots/{runId}', async ({ params }) => {
      const run = await catalog.getRun(runScope(params.audienceId!), params.runId!);
      if (!run) throw notFound(`snapshot run ${params.runId}`);
      return json(200, run);
    })
    .on('GET', '/v1/audiences/{audienceId}/kpis', async ({ params, query }) => {
      const audience = await catalog.audiences.get(params.audienceId!);
      if (!audience) throw notFound(`audience ${params.audienceId}`);
      const sizes = await audienceSizes(audience.id, deps, limitOf(query));
      // Conversion of a published run (the latest by default): exported members against the holdout.
      const runId = query.runId ?? sizes.find((s) => s.status === 'succeeded')?.runId;
      const run = runId === undefined ? undefined : await catalog.getRun(runScope(audience.id), runId);
      if (query.runId && !run) throw notFound(`snapshot run ${query.runId}`);
      const manifestKey = run?.progress?.manifestKey;
      const manifest = typeof manifestKey === 'string' ? (JSON.parse((await deps.objects.get(manifestKey))!.toString()) as Manifest) : undefined;
      return json(200, {
        audienceId: audience.id,
        segmentId: audience.segmentId,
        sizes,
        conversion: manifest && manifest.format === 'csv.gz' ? await conversion(manifest, deps, deps.previewBudgetMs) : null,
      });
    })
    .on('GET', '/v1/audiences/{audienceId}/snapshots/{runId}/esp-url', async ({ params, query }) => {
      const run = await catalog.getRun(runScope(params.audienceId!), params.runId!);
      if (!run) throw notFound(`snapshot run ${params.runId}`);
      const key = run.progress?.espKey;
      if (typeof key !== 'string') throw notFound(`ESP file of run ${params.runId} (the audience has no preset, or the run published nothing)`);
      const expiresIn = query.expiresIn === undefined ? 86_400 : Number(query.expiresIn);
      if (!Number.isInteger(expiresIn) || expiresIn < 60 || expiresIn > 604_800) {
        throw badRequest('expiresIn is seconds, from 60 to 604800 (7 days)', [{ path: 'expiresIn', message: 'out of range' }]);
      }
      const url = await deps.objects.presignedGetUrl(key, expiresIn);
      deps.logger.info('ESP file link issued', { audienceId: params.audienceId, runId: params.runId, expiresIn });
      return json(200, { url, key, expiresAt: new Date(deps.now() + expiresIn * 1000).toISOString() });
    })
    .on('GET', '/v1/sources', async () => {
      const sources = (await catalog.listSources()).map(({ keyHash: _hash, ...visible }) => visible);
      return json(200, { sources: sources.sort((a, b) => a.createdAt.localeCompare(b.createdAt)) });
    })
    .on('POST', '/v1/sources', async ({ event }) => {
      const input = sourceInputSchema.parse(jsonBody(event));
      const writeKey = newWriteKey();
      const source = { sourceId: `src_${randomUUID().replaceAll('-', '').slice(0, 20)}`, ...input, keyHash: hashWriteKey(writeKey), createdAt: iso() };
      await catalog.putSource(source);
      deps.logger.info('source created', { sourceId: source.sourceId });
      const { keyHash: _hash, ...visible } = source;
      // The key is shown once, here; only its hash is kept.
      return json(201, { ...visible, writeKey });
    })
    .on('PATCH', '/v1/sources/{sourceId}', async ({ event, params }) => {
      const changes = sourceUpdateSchema.parse(jsonBody(event));
      const keys = (await catalog.listSources()).filter((s) => s.sourceId === params.sourceId && !s.revokedAt);
      if (keys.length === 0) throw notFound(`active source ${params.sourceId}`);
      for (const key of keys) await catalog.putSource({ ...key, ...changes });
      deps.logger.info('source updated', { sourceId: params.sourceId, changed: Object.keys(changes) });
      const { keyHash: _hash, ...visible } = { ...keys[0]!, ...changes };
      return json(200, visible);
    })
    .on('DELETE', '/v1/sources/{sourceId}', async ({ params }) => {
      const keys = (await catalog.listSources()).filter((s) => s.sourceId === params.sourceId && !s.revokedAt);
      if (keys.length === 0) throw notFound(`active source ${params.sourceId}`);
      for (const key of keys) await catalog.putSource({ ...key, revokedAt: iso() });
      deps.logger.info('source revoked', { sourceId: params.sourceId });
      return { statusCode: 204 };
    })
    .on('POST', '/v1/jobs/replay', async ({ event }) => {
      const { from, to } = replayInputSchema.parse(jsonBody(event));
      const runId = newRunId(deps.now());
      await catalog.putRun(REPLAY_SCOPE, { runId, status: 'requested', startedAt: iso(), progress: { from, to } });
      await deps.queue.send({ v: 1, kind: 'replay', runId, from, to, day: from });
      deps.logger.info('replay requested', { runId, from, to });
      return json(202, { runId, status: 'requested', links: { run: `/v1/jobs/replay/runs/${runId}` } });
    })
    .on('POST', '/v1/jobs/freeze', async () => {
      const runId = await requestFreeze();
      return json(202, { runId, status: 'requested', links: { run: `/v1/jobs/freeze/runs/${runId}` } });
    })
    .on('GET', '/v1/indicators', async () => {
      const stored = new Map((await catalog.indicators.list()).map((d) => [d.id, d]));
      const definitions = await Promise.all(DEFINITION_IDS.map((id) => definitionView(id, stored.get(id))));
      return json(200, { indicators: ALL_INDICATORS, definitions });
    })
    .on('GET', '/v1/indicators/clusters', async () => {
      const run = (await catalog.listRuns(FREEZE_SCOPE, 30)).find((r) => r.status === 'succeeded' && r.progress?.clusters);
      if (!run) {
        throw new ApiError(404, 'not_found', 'no clusters yet: a freeze fits them once enough people have interactions (at least 10 in its sample); POST /v1/jobs/freeze runs one now');
      }
      return json(200, { runId: run.runId, frozenAt: run.finishedAt, ...(run.progress!.clusters as object) });
    })
    .on('GET', '/v1/indicators/definitions/{definitionId}', async ({ params }) => {
      const id = definitionIdOf(params.definitionId!);
      return json(200, await definitionView(id, await catalog.indicators.get(id)));
    })
    .on('PUT', '/v1/indicators/definitions/{definitionId}', async ({ event, params }) => {
      const id = definitionIdOf(params.definitionId!);
      const settings = definitionSchemas[id].parse(jsonBody(event)) as IndicatorSettings[typeof id];
      const existing = await catalog.indicators.get(id);
      const definition: IndicatorDefinition = { id, revision: (existing?.revision ?? 0) + 1, settings, updatedAt: iso() };
      await putRevisioned(() => catalog.indicators.put(definition));
      // Stage segments and segments comparing indicators may move for any stored profile: walk them all.
      await catalog.putRun(INDICATORS_SCOPE, { runId: indicatorRunId(id, definition.revision), status: 'requested', startedAt: iso() });
      await deps.queue.send({ v: 1, kind: 'evaluate-indicators', definition: id, revision: definition.revision }, deps.segmentEvaluationDelaySeconds);
      // Frozen indicators change with the next freeze: run it now rather than tomorrow.
      const freezeRunId = FROZEN_INDICATORS.some((i) => i.definitions.includes(id)) ? await requestFreeze() : undefined;
      deps.logger.info('indicator definition saved', { definition: id, revision: definition.revision, freezeRunId });
      return json(existing ? 200 : 201, { ...(await definitionView(id, definition)), ...(freezeRunId && { freezeRunId }) });
    });

  const requestFreeze = async (): Promise<string> => {
    const runId = newRunId(deps.now());
    await catalog.putRun(FREEZE_SCOPE, { runId, status: 'requested', startedAt: iso() });
    await deps.publisher.publish([{ detailType: DETAIL_TYPES.freezeRequested, detail: { version: 1, runId } }]);
    return runId;
  };

  const definitionIdOf = (id: string): DefinitionId => {
    if (!(DEFINITION_IDS as string[]).includes(id)) throw notFound(`indicator definition ${id} (one of ${DEFINITION_IDS.join(', ')})`);
    return id as DefinitionId;
  };
  const definitionView = async (id: DefinitionId, stored: IndicatorDefinition | undefined) => ({
    id,
    revision: stored?.revision ?? 0,
    isDefault: stored === undefined,
    settings: stored?.settings ?? DEFAULT_INDICATOR_SETTINGS[id],
    defaults: DEFAULT_INDICATOR_SETTINGS[id],
    indicators: ALL_INDICATORS.filter((i) => i.definitions.includes(id)).map((i) => i.id),
    ...(stored && { updatedAt: stored.updatedAt, evaluation: (await catalog.getRun(INDICATORS_SCOPE, indicatorRunId(id, stored.revision))) ?? null }),
  });

  // What waits for an operator; inspected and redriven with `npm run prisme -- dlq`.
  router.on('GET', '/v1/jobs/dlq', async () => json(200, { messages: await deps.queue.parked() }));

  // The runs of each job: newest first, and one by id.
  for (const [job, scope] of [['replay', REPLAY_SCOPE], ['freeze', FREEZE_SCOPE], ['backfill', BACKFILL_SCOPE]] as const) {
    router
      .on('GET', `/v1/jobs/${job}/runs`, async ({ query }) => json(200, { runs: await catalog.listRuns(scope, limitOf(query)) }))
      .on('GET', `/v1/jobs/${job}/runs/{runId}`, async ({ params }) => {
        const run = await catalog.getRun(scope, params.runId!);
        if (!run) throw notFound(`${job} run ${params.runId}`);
        return json(200, run);
      });
  }

  const middlewares = deps.adminToken ? [bearerToken(deps.adminToken)] : [];
  return Object.assign(httpHandler((event, context) => router.handle(event, context), deps.logger, ...middlewares), { routes: router.table });
}

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a day, YYYY-MM-DD');
const replayInputSchema = z
  .strictObject({ from: day, to: day })
  .refine((r) => r.from <= r.to, { path: ['to'], message: 'must not be before from' })
  .refine((r) => Date.parse(r.to) - Date.parse(r.from) <= 400 * 86_400_000, { path: ['to'], message: 'at most 400 days after from' });

const approvalInputSchema = z.strictObject({ approvedBy: z.string().trim().min(1).max(200).optional() });

/** The part of an audience its owner sets, for comparing a new PUT with it. */
const inputOf = ({ name, segmentId, fields, format, preset, consentChannel, schedule, minSize, maxSizeChange, holdoutPercent }: Audience): AudienceInput => ({
  name,
  segmentId,
  fields,
  format,
  ...(preset !== undefined && { preset }),
  ...(consentChannel !== undefined && { consentChannel }),
  ...(schedule !== undefined && { schedule }),
  minSize,
  maxSizeChange,
  holdoutPercent,
});

const previewInputSchema = z.strictObject({
  condition: conditionSchema,
  sampleSize: z.number().int().min(0).max(100).optional(),
  /** A shorter scan than the server's budget: a quick lower bound while someone is still typing. */
  budgetMs: z.number().int().min(100).max(60_000).optional(),
});

/** Scans stored profiles within a time budget: exact when `complete`, otherwise a lower bound over `scanned`. */
async function previewSegment(condition: Condition, model: IndicatorModel, needsFrozen: boolean, deps: AdminDeps, options: { sampleSize?: number; budgetMs?: number } = {}) {
  const budget = Math.min(options.budgetMs ?? Infinity, deps.previewBudgetMs);
  const sampleSize = options.sampleSize ?? 10;
  const matches = compile(condition);
  // Read once per group for the whole preview: the people of one account share it.
  const groups = dependenciesOf(condition).groupTraits.length > 0 ? new GroupTraitsReader(deps.groups) : undefined;
  const started = Date.now();
  const now = deps.now();
  const sample: Array<{ profileId: string; userId?: string; email?: string }> = [];
  let size = 0;
  let scanned = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.profiles.scan(cursor, 1000);
    const frozen = needsFrozen ? new Map((await deps.frozen.getMany(page.items.map((p) => p.profileId))).map((r) => [r.profileId, r.values])) : undefined;
    await groups?.prefetch(page.items);
    for (const profile of page.items) {
      if (profile.mergedInto) continue;
      scanned++;
      const groupTraits = await groups?.traitsOf(profile);
      if (!matches(profile, now, new Set(profile.segments), { ...model.valuesOf(profile, now), ...frozen?.get(profile.profileId) }, groupTraits)) continue;
      size++;
      if (sample.length < sampleSize) sample.push({ profileId: profile.profileId, userId: profile.identifiers.userId?.at(-1), email: profile.identifiers.email?.at(-1) });
    }
    cursor = page.cursor;
  } while (cursor && Date.now() - started < budget);
  return { size, complete: cursor === undefined, scanned, sample, durationMs: Date.now() - started };
}

/**
 * When a condition needs aggregates no other segment maintains (`newSpecs`), live events fold into
 * them once every processor's catalog cache has caught up: those received from `foldedFrom` on; a
 * backfill adds the older ones. Aggregates shared with other segments keep the start they recorded
 * (none once whole); indicators' aggregates are whole from the start.
 */
function startsOf(condition: Condition, others: readonly Segment[], indicatorSpecs: readonly AggregateSpec[], foldedFrom: number) {
  const kept = aggregateStarts(others, indicatorSpecs);
  const specsSince: Record<string, string> = {};
  const newSpecs: string[] = [];
  for (const spec of aggregateSpecsOf(condition)) {
    const known = kept.get(spec.id);
    if (known && known.since === undefined) continue; // whole already
    if (!known) newSpecs.push(spec.id);
    specsSince[spec.id] = known?.since ?? new Date(foldedFrom).toISOString();
  }
  return { specsSince, newSpecs };
}

async function putRevisioned(write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (error instanceof VersionConflictError) throw conflict('changed concurrently by another request; read it again and retry');
    throw error;
  }
}
