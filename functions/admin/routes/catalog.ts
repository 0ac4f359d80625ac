/** What Prisme has seen: event names with their property keys, and trait names, for autocomplete. */
import { z } from 'zod';
import { SEEN_LIMITS } from '#shared/domain/seen-catalog';
import { json } from '#shared/http/api';
import { route } from '../deps';

const seenQuery = z.object({
  limit: z
    .preprocess((value) => (value === '' ? undefined : value), z.coerce.number().int().min(1).max(SEEN_LIMITS.namesPerKind).optional())
    .transform((limit) => limit ?? SEEN_LIMITS.namesPerKind),
});

export const catalogRoutes = [
  route({
    method: 'GET',
    path: '/v1/catalog/events',
    summary: 'Event names seen (as segments count them), most seen first, with their property keys and a few values',
    query: seenQuery,
    handle: async ({ query }, deps) => json(200, { events: await deps.seen.list('events', query.limit) }),
  }),
  route({
    method: 'GET',
    path: '/v1/catalog/traits',
    summary: 'Trait names seen, most seen first, with a few of their values',
    query: seenQuery,
    handle: async ({ query }, deps) => json(200, { traits: await deps.seen.list('traits', query.limit) }),
  }),
];
