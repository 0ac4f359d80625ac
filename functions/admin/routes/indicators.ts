/** Indicators: what exists, their definitions (changed by revision), and the clusters and customer-base models of the last freeze. */
import { z } from 'zod';
import { ALL_INDICATORS } from '#shared/domain/indicator-settings';
import { json } from '#shared/http/api';
import {
  definitionIdOf,
  definitionView,
  latestClusters,
  latestCustomerModels,
  listDefinitions,
  saveDefinition,
} from '#shared/usecases/indicator-definitions';
import { route } from '../deps';

/** Any JSON object: each definition's own schema checks it, once its id is known. */
const settingsBody = z.custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value));

export const indicatorRoutes = [
  route({
    method: 'GET',
    path: '/v1/indicators',
    summary: 'Indicators and their definitions',
    handle: async (_, deps) => json(200, { indicators: ALL_INDICATORS, definitions: await listDefinitions(deps) }),
  }),
  route({
    method: 'GET',
    path: '/v1/indicators/clusters',
    summary: 'The clusters of the last freeze, described',
    handle: async (_, deps) => json(200, await latestClusters(deps)),
  }),
  route({
    method: 'GET',
    path: '/v1/indicators/models',
    summary: 'The customer-base models (BG/NBD, Gamma-Gamma) of the last freeze that fitted them',
    handle: async (_, deps) => json(200, await latestCustomerModels(deps)),
  }),
  route({
    method: 'GET',
    path: '/v1/indicators/definitions/{definitionId}',
    summary: "An indicator definition's settings and revisions",
    handle: async ({ params }, deps) => {
      const id = definitionIdOf(params.definitionId);
      return json(200, await definitionView(id, await deps.catalog.indicators.get(id), deps));
    },
  }),
  route({
    method: 'PUT',
    path: '/v1/indicators/definitions/{definitionId}',
    summary: "Change an indicator definition's settings (a new revision)",
    status: [200, 201],
    body: settingsBody,
    handle: async ({ params, body }, deps) => {
      const { definition, created } = await saveDefinition(definitionIdOf(params.definitionId), body, deps);
      return json(created ? 201 : 200, definition);
    },
  }),
];
