/** Sources: write keys (shown once), their default channel and the browser origins they allow. */
import { sourceInputSchema, sourceUpdateSchema } from '#shared/domain/sources';
import { json } from '#shared/http/api';
import { createSource, listSources, revokeSource, updateSource } from '#shared/usecases/manage-sources';
import { route } from '../deps';

export const sourceRoutes = [
  route({
    method: 'GET',
    path: '/v1/sources',
    summary: 'Sources (write keys are shown only when made)',
    handle: async (_, deps) => json(200, { sources: await listSources(deps) }),
  }),
  route({
    method: 'POST',
    path: '/v1/sources',
    summary: 'Create a source: its write key, shown once',
    status: [201],
    body: sourceInputSchema,
    handle: async ({ body }, deps) => json(201, await createSource(body, deps)),
  }),
  route({
    method: 'PATCH',
    path: '/v1/sources/{sourceId}',
    summary: "Change a source's name, channel or allowed origins",
    body: sourceUpdateSchema,
    handle: async ({ params, body }, deps) => json(200, await updateSource(params.sourceId, body, deps)),
  }),
  route({
    method: 'DELETE',
    path: '/v1/sources/{sourceId}',
    summary: "Revoke a source's write key",
    status: [204],
    handle: async ({ params }, deps) => {
      await revokeSource(params.sourceId, deps);
      return { statusCode: 204 };
    },
  }),
];
