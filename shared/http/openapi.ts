/**
 * OpenAPI 3.1 from the schemas the handlers validate with: each route's path, query and body schemas
 * become its parameters and request body (JSON Schema 2020-12, which OpenAPI 3.1 speaks), and every
 * error answer is the one envelope with its stable code. Nothing is written by hand twice.
 */

import { z } from 'zod';
import { API_ERROR_CODES } from '../errors';
import { MAX_PARAMETER_BYTES, type Route } from './router';

export type JsonSchema = Record<string, unknown>;

export interface Operation {
  tags: string[];
  summary: string;
  operationId: string;
  parameters?: Array<{ name: string; in: 'path' | 'query'; required: boolean; schema: JsonSchema; description?: string }>;
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: JsonSchema }> }>;
  security?: Array<Record<string, string[]>>;
}

export type Paths = Record<string, Record<string, Operation>>;

/** Schemas several operations refer to, by name (`#/components/schemas/<name>`). */
export type Components = Record<string, JsonSchema>;

export const ERROR_SCHEMA_NAME = 'Error';
export const errorRef = { $ref: `#/components/schemas/${ERROR_SCHEMA_NAME}` };

/** The one shape of every error answer; `code` lists every stable code with what it means. */
export const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          enum: Object.keys(API_ERROR_CODES),
          description: Object.entries(API_ERROR_CODES)
            .map(([code, meaning]) => `- \`${code}\`: ${meaning}`)
            .join('\n'),
        },
        message: { type: 'string', description: 'for people; may change' },
        details: {
          type: 'array',
          items: {
            type: 'object',
            required: ['path', 'message'],
            properties: {
              path: { type: 'string', description: "the offending field's dotted path, '' for the whole body" },
              message: { type: 'string' },
              index: { type: 'integer', description: 'the position of the event in a batch' },
            },
          },
        },
      },
    },
  },
};

export const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorRef } } });

/**
 * A zod schema as the JSON Schema of what a client sends (before transforms and defaults). Its own
 * `$defs` (recursive conditions) move to the components under `prefix`, so their references resolve
 * inside the whole document.
 */
export function jsonSchemaOf(schema: z.ZodType, prefix: string, components: Components): JsonSchema {
  const {
    $schema: _dialect,
    $defs,
    ...root
  } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema & {
    $defs?: Record<string, JsonSchema>;
  };
  // Schemas with an id of their own (`SegmentCondition`) keep it, and are shared by the operations that use them.
  const hoisted = (name: string) => (name.startsWith('__') ? `${prefix}.${name}` : name);
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) =>
        key === '$ref' && typeof inner === 'string'
          ? [key, inner.replace(/^#\/\$defs\/(.+)$/, (_, name: string) => `#/components/schemas/${hoisted(name)}`)]
          : [key, rewrite(inner)],
      ),
    );
  };
  for (const [name, def] of Object.entries($defs ?? {})) components[hoisted(name)] = rewrite(def) as JsonSchema;
  return rewrite(root) as JsonSchema;
}

const SUCCESS_DESCRIPTIONS: Record<number, string> = {
  200: 'done',
  201: 'created',
  202: 'accepted: a job was requested; its run tells its progress',
  204: 'done, nothing to answer',
};

const operationIdOf = (method: string, path: string) =>
  method.toLowerCase() +
  path
    .replace(/^\/v1/, '')
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith('{') ? `By${part.slice(1, 2).toUpperCase()}${part.slice(2, -1)}` : part))
    .map((part) => part.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase()))
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** The `{name}` parameters of a path pattern, as the routers decode and bound them. */
export const pathParametersOf = (path: string): NonNullable<Operation['parameters']> =>
  [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name: name!,
    in: 'path' as const,
    required: true,
    schema: { type: 'string', maxLength: MAX_PARAMETER_BYTES },
  }));

/** The operations of route tables, each table a tag. */
export function routeOperations(tables: Record<string, readonly Route<never>[]>, components: Components): Paths {
  const paths: Paths = {};
  for (const [tag, routes] of Object.entries(tables)) {
    for (const route of routes) {
      const operationId = operationIdOf(route.method, route.path);
      const pathParameters = pathParametersOf(route.path);
      const query = route.query ? jsonSchemaOf(route.query, `${operationId}.query`, components) : undefined;
      const required = new Set((query?.required as string[] | undefined) ?? []);
      const queryParameters = Object.entries((query?.properties as Record<string, JsonSchema> | undefined) ?? {}).map(([name, schema]) => ({
        name,
        in: 'query' as const,
        required: required.has(name),
        schema,
      }));
      const operation: Operation = {
        tags: [tag],
        summary: route.summary,
        operationId,
        ...(pathParameters.length + queryParameters.length > 0 && { parameters: [...pathParameters, ...queryParameters] }),
        ...(route.body && {
          requestBody: {
            required: !route.body.safeParse(undefined).success,
            content: { 'application/json': { schema: jsonSchemaOf(route.body, `${operationId}.body`, components) } },
          },
        }),
        responses: {
          ...Object.fromEntries(
            (route.status ?? [200]).map((status) => [
              String(status),
              status === 204
                ? { description: SUCCESS_DESCRIPTIONS[status]! }
                : { description: SUCCESS_DESCRIPTIONS[status]!, content: { 'application/json': { schema: { type: 'object' } } } },
            ]),
          ),
          '4XX': errorResponse('the request cannot be taken: see the code'),
          '500': errorResponse('a fault of Prisme (code `internal`)'),
        },
      };
      paths[route.path] ??= {};
      paths[route.path]![route.method.toLowerCase()] = operation;
    }
  }
  return paths;
}
