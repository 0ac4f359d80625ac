/** The API's own document, OpenAPI 3.1, built once from the route tables. */
import { json } from '#shared/http/api';
import type { ApiDocument } from '../api-document';
import { route } from '../deps';

export const docsRoutes = (document: () => ApiDocument) => [
  route({
    method: 'GET',
    path: '/v1/openapi.json',
    summary: 'This document: the ingest and admin APIs, OpenAPI 3.1',
    handle: async () => json(200, document()),
  }),
];
