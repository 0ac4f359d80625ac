/** Profiles: the unified view by id or identifier, the access export, identity, explain, erasure. */

import { NotFoundError } from '#shared/errors';
import { type HttpResult, json } from '#shared/http/api';
import { ERASURES_SCOPE } from '#shared/usecases/erase-profile';
import { explainMembership } from '#shared/usecases/explain-membership';
import { profileById, profileByIdentifier } from '#shared/usecases/find-profile';
import { accessExport, identityView, profileView } from '#shared/usecases/profile-view';
import { requestErasure } from '#shared/usecases/request-job';
import { type AdminDeps, route } from '../deps';
import { limitQuery } from '../queries';

const erasureRequested = async (profileId: string, deps: AdminDeps): Promise<HttpResult> => {
  const erasureId = await requestErasure(profileId, deps);
  return json(202, { erasureId, status: 'requested', links: { erasure: `/v1/erasures/${erasureId}` } });
};

export const profileRoutes = [
  route({
    method: 'GET',
    path: '/v1/profiles',
    summary: "A profile by any identifier: ?userId=, ?email=, ?phone=, ?anonymousId= or any identifier type as the query parameter's name",
    handle: async ({ query }, deps) => json(200, await profileView(await profileByIdentifier(query, deps), deps)),
  }),
  route({
    method: 'DELETE',
    path: '/v1/profiles',
    summary: 'Erase the profile an identifier names (GDPR art. 17), as a job',
    status: [202],
    handle: async ({ query }, deps) => erasureRequested((await profileByIdentifier(query, deps)).profileId, deps),
  }),
  route({
    method: 'DELETE',
    path: '/v1/profiles/{profileId}',
    summary: 'Erase a profile (GDPR art. 17), as a job',
    status: [202],
    handle: async ({ params }, deps) => erasureRequested((await profileById(params.profileId, deps)).profileId, deps),
  }),
  route({
    method: 'GET',
    path: '/v1/erasures',
    summary: 'Erasures, newest first',
    query: limitQuery,
    handle: async ({ query }, deps) => json(200, { erasures: await deps.catalog.listRuns(ERASURES_SCOPE, query.limit) }),
  }),
  route({
    method: 'GET',
    path: '/v1/erasures/{erasureId}',
    summary: 'One erasure and its progress',
    handle: async ({ params }, deps) => {
      const erasure = await deps.catalog.getRun(ERASURES_SCOPE, params.erasureId);
      if (!erasure) throw new NotFoundError(`erasure ${params.erasureId}`);
      return json(200, erasure);
    },
  }),
  route({
    method: 'GET',
    path: '/v1/profiles/{profileId}/export',
    summary: 'Everything held about a person (GDPR art. 15)',
    handle: async ({ params }, deps) => json(200, await accessExport(await profileById(params.profileId, deps), deps)),
  }),
  route({
    method: 'GET',
    path: '/v1/profiles/{profileId}',
    summary: 'A profile: identifiers, traits, indicators, consents, memberships, recent behaviour',
    handle: async ({ params }, deps) => json(200, await profileView(await profileById(params.profileId, deps), deps)),
  }),
  route({
    method: 'GET',
    path: '/v1/profiles/{profileId}/identity',
    summary: 'How the profile was unified: its identifiers, merges and limits',
    handle: async ({ params }, deps) => json(200, await identityView(await profileById(params.profileId, deps), params.profileId, deps)),
  }),
  route({
    method: 'GET',
    path: '/v1/profiles/{profileId}/segments/{segmentId}/explain',
    summary: 'Why a profile is in a segment or not, condition by condition',
    handle: async ({ params }, deps) => json(200, await explainMembership(params.profileId, params.segmentId, deps)),
  }),
];
