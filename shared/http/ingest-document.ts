/**
 * The ingest API in the OpenAPI document: the Segment-compatible endpoints (each under its Tracking
 * API name and the first letter analytics.js posts to), their bodies from the schemas ingest validates
 * with, and the settings analytics.js loads.
 */

import { EVENT_SCHEMAS, EVENT_TYPES, type EventType, LIMITS } from '../domain/events';
import { INGEST_ENDPOINTS, ingestPaths, LIBRARY_ROUTES, SETTINGS_ROUTE } from '../routes';
import { type Components, errorResponse, jsonSchemaOf, type Operation, type Paths, pathParametersOf } from './openapi';

const WRITE_KEY_AUTH = [{ writeKey: [] }];

const writeKeyProperty = { type: 'string', description: 'the write key, when not sent as HTTP Basic' };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const eventName = (type: EventType) => `${type.charAt(0).toUpperCase()}${type.slice(1)}Event`;

/** Each event type once, in the components; the endpoints and the batch refer to them. */
function eventComponents(components: Components): void {
  for (const type of EVENT_TYPES) components[eventName(type)] = jsonSchemaOf(EVENT_SCHEMAS[type], eventName(type), components);
}

/** A single event's endpoint takes its type from the path; in a batch, `type` says which event each is. */
const typedEvent = (type: EventType, typeRequired: boolean) => ({
  allOf: [ref(eventName(type))],
  properties: { type: { const: type }, ...(!typeRequired && { writeKey: writeKeyProperty }) },
  ...(typeRequired && { required: ['type'] }),
});

const batchBody = {
  type: 'object',
  required: ['batch'],
  properties: {
    batch: { type: 'array', maxItems: LIMITS.batchEvents, items: { oneOf: EVENT_TYPES.map((type) => typedEvent(type, true)) } },
    context: { type: 'object', description: "copied into each event's context (the event's own keys win)" },
    integrations: { type: 'object' },
    sentAt: { type: 'string', description: "when the library sent the batch: corrects the events' clocks" },
    writeKey: writeKeyProperty,
  },
};

const accepted = {
  description: 'every event accepted: durable in the queue',
  content: { 'application/json': { schema: { type: 'object', properties: { success: { const: true } } } } },
};

const rejectionsSchema = {
  oneOf: [
    {
      type: 'object',
      required: ['success', 'accepted', 'rejected'],
      properties: {
        success: { const: false },
        accepted: { type: 'integer', description: 'how many events of the request were accepted' },
        rejected: {
          type: 'array',
          items: {
            type: 'object',
            required: ['index', 'field', 'reason'],
            properties: { index: { type: 'integer' }, field: { type: 'string' }, reason: { type: 'string' } },
          },
        },
      },
    },
    { $ref: '#/components/schemas/Error' },
  ],
};

const someRejected = {
  description:
    'some events refused, each with its index, field and reason; the others were accepted (durable), or the request itself is refused (the error envelope)',
  content: { 'application/json': { schema: ref('Rejections') } },
};

function eventsOperation(endpoint: (typeof INGEST_ENDPOINTS)[number], path: string): Operation {
  const schema = endpoint === 'batch' ? ref('Batch') : typedEvent(endpoint, false);
  const name = `${endpoint.charAt(0).toUpperCase()}${endpoint.slice(1)}`;
  const alias = path !== `/v1/${endpoint}`;
  return {
    tags: ['ingest'],
    summary: `${endpoint === 'batch' ? `Up to ${LIMITS.batchEvents} events of any type` : `One ${endpoint} event`}${alias ? ' (the path analytics.js posts to, as text/plain)' : ''}`,
    operationId: `${alias ? 'short' : 'post'}${name}`,
    requestBody: { required: true, content: { 'application/json': { schema }, 'text/plain': { schema } } },
    responses: {
      '200': accepted,
      '400': someRejected,
      '4XX': errorResponse('the request is refused as a whole (write key, origin, size, encoding, rate): see the code'),
      '500': errorResponse('a fault of Prisme (code `internal`): nothing of the request was kept; send it again'),
    },
    security: WRITE_KEY_AUTH,
  };
}

export function ingestPathsOf(components: Components): Paths {
  eventComponents(components);
  components.Batch = batchBody;
  components.Rejections = rejectionsSchema;
  const paths: Paths = {};
  for (const endpoint of INGEST_ENDPOINTS)
    for (const path of ingestPaths(endpoint)) paths[path] = { post: eventsOperation(endpoint, path) };
  paths[SETTINGS_ROUTE] = {
    get: {
      tags: ['ingest'],
      summary: "The settings analytics.js loads before sending: Prisme's address as its API host",
      operationId: 'getProjectSettings',
      parameters: pathParametersOf(SETTINGS_ROUTE),
      responses: {
        '200': { description: 'the settings', content: { 'application/json': { schema: { type: 'object' } } } },
        '4XX': errorResponse('no active source has this write key'),
      },
    },
  };
  for (const [path, summary, operationId] of [
    [LIBRARY_ROUTES[0], 'The browser library (analytics.js), where the snippet loads it', 'getBrowserLibrary'],
    [LIBRARY_ROUTES[1], 'A bundle the browser library loads on demand', 'getBrowserLibraryBundle'],
  ] as const) {
    paths[path] = {
      get: {
        tags: ['ingest'],
        summary,
        operationId,
        parameters: pathParametersOf(path),
        responses: {
          '200': { description: 'the script', content: { 'application/javascript': { schema: { type: 'string' } } } },
          '4XX': errorResponse('no such file'),
        },
      },
    };
  }
  return paths;
}
