import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { recordFrom } from '../domain/records';
import { ApiError, badRequest } from '../errors';
import { type HttpEvent, type HttpResult, jsonBody } from './api';

type Method = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
type SuccessStatus = 200 | 201 | 202 | 204;

/** `{segmentId}` names in a path pattern, as the keys of its decoded parameters. */
type ParamNames<P extends string> = P extends `${string}{${infer Name}}${infer Rest}` ? Name | ParamNames<Rest> : never;
export type PathParams<P extends string> = { readonly [K in ParamNames<P>]: string };

type Parsed<S, Otherwise> = S extends z.ZodType ? z.output<S> : Otherwise;

export interface RouteRequest<P extends string = string, Q = Record<string, string>, B = undefined> {
  event: HttpEvent;
  context: Context;
  params: PathParams<P>;
  /** Parsed by the route's query schema; without one, every parameter as given (names are the client's). */
  query: Q;
  /** Parsed by the route's body schema; `undefined` without one. */
  body: B;
}

/**
 * One route as data: a test, the router and a document generator can all read it. Query and body
 * are validated by their schemas before `handle` runs, so a bad one is a 400 naming the field.
 */
export interface Route<
  Deps,
  P extends string = string,
  Q extends z.ZodType | undefined = z.ZodType | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
> {
  method: Method;
  /** `/v1/segments/{segmentId}` */
  path: P;
  /** One line for the API's document (OpenAPI). */
  summary: string;
  /** Its success statuses, for the document; 200 when not given. */
  status?: readonly SuccessStatus[];
  query?: Q;
  /** A body schema that accepts `undefined` makes the body optional. */
  body?: B;
  handle: (request: RouteRequest<P, Parsed<Q, Record<string, string>>, Parsed<B, undefined>>, deps: Deps) => Promise<HttpResult>;
}

/** Types a route where it is written (its params from its path, its query and body from their schemas), then erases it into its table. */
export const routeFor =
  <Deps>() =>
  <P extends string, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
    route: Route<Deps, P, Q, B>,
  ): Route<Deps> =>
    route as unknown as Route<Deps>;

export interface RouteSpec {
  method: string;
  /** `/v1/segments/{segmentId}` */
  path: string;
}

interface CompiledRoute<Deps> {
  route: Route<Deps>;
  pattern: RegExp;
  names: string[];
}

/** Method + path dispatch over route tables: `/v1/segments/{segmentId}` patterns, decoded params. */
export class Router<Deps> {
  private readonly compiled: CompiledRoute<Deps>[];

  constructor(
    routes: readonly Route<Deps>[],
    private readonly deps: Deps,
  ) {
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      const pattern = new RegExp(
        `^${route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
          names.push(name);
          return '([^/]+)';
        })}/?$`,
      );
      return { route, pattern, names };
    });
  }

  /** What it routes, for tests that try every route. */
  get table(): RouteSpec[] {
    return this.compiled.map(({ route: { method, path } }) => ({ method, path }));
  }

  async handle(event: HttpEvent, context: Context): Promise<HttpResult> {
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath;
    let pathMatched = false;
    for (const { route, pattern, names } of this.compiled) {
      const match = pattern.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params = recordFrom(names.map((name, i) => [name, checkedValue(name, decoded(name, match[i + 1]!))] as const));
      checkQueryEncoding(event.rawQueryString);
      // Query names are the client's: no prototype, so `?constructor=` is a name like any other.
      const rawQuery = recordFrom(
        Object.entries(event.queryStringParameters ?? {}).map(
          ([k, v]) => [checkedValue('query parameter name', k), checkedValue(k, v ?? '')] as const,
        ),
      );
      const query = route.query ? route.query.parse(rawQuery) : rawQuery;
      return route.handle({ event, context, params, query, body: bodyOf(route.body, event) } as never, this.deps);
    }
    if (pathMatched) throw new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${path}`);
    throw new ApiError(404, 'not_found', `no route for ${method} ${path}`);
  }
}

function bodyOf(schema: z.ZodType | undefined, event: HttpEvent): unknown {
  if (!schema) return undefined;
  if (!event.body) {
    const absent = schema.safeParse(undefined);
    if (absent.success) return absent.data;
  }
  return schema.parse(jsonBody(event));
}

/**
 * The most UTF-8 bytes a path parameter or query value may have: DynamoDB's sort key limit, the
 * tightest place these values land (ids are sort keys of the catalog and memberships; identifiers
 * become `type:value` partition keys, limited to 2048). Longer ones would fail inside, as a 500.
 */
export const MAX_PARAMETER_BYTES = 1024;

const decoded = (name: string, raw: string): string => {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`${name} is not valid %-encoded UTF-8`, [{ path: name, message: 'malformed %-encoding' }]);
  }
};

const checkedValue = (name: string, value: string): string => {
  if (Buffer.byteLength(value) > MAX_PARAMETER_BYTES) {
    throw badRequest(`${name} is longer than ${MAX_PARAMETER_BYTES} bytes`, [
      { path: name, message: `longer than ${MAX_PARAMETER_BYTES} bytes` },
    ]);
  }
  return value;
};

/** Gateways decode malformed query escapes leniently (to U+FFFD): refuse them rather than look up a mangled value. */
function checkQueryEncoding(rawQueryString: string | undefined): void {
  for (const pair of rawQueryString ? rawQueryString.split('&') : []) {
    const [rawName = '', rawValue = ''] = pair.split(/=(.*)/s).map((part) => part.replaceAll('+', ' '));
    const name = decoded('query parameter name', rawName);
    decoded(name, rawValue);
  }
}
