import type { Context } from 'aws-lambda';
import { recordFrom } from '../domain/records';
import { ApiError, badRequest } from '../errors';
import type { HttpEvent, HttpResult } from './api';

export interface RouteRequest {
  event: HttpEvent;
  context: Context;
  params: Record<string, string>;
  query: Record<string, string>;
}
export type RouteHandler = (request: RouteRequest) => Promise<HttpResult>;

export interface RouteSpec {
  method: string;
  /** `/v1/segments/{segmentId}` */
  path: string;
}

interface Route extends RouteSpec {
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

/** A minimal method + path router: `/v1/segments/{segmentId}` style patterns, decoded params. */
export class Router {
  private readonly routes: Route[] = [];

  on(method: string, path: string, handler: RouteHandler): this {
    const names: string[] = [];
    const pattern = new RegExp(
      `^${path.replace(/\{(\w+)\}/g, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      })}/?$`,
    );
    this.routes.push({ method, path, pattern, names, handler });
    return this;
  }

  /** What it routes, for tests that try every route. */
  get table(): RouteSpec[] {
    return this.routes.map(({ method, path }) => ({ method, path }));
  }

  async handle(event: HttpEvent, context: Context): Promise<HttpResult> {
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath;
    let pathMatched = false;
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params = recordFrom(route.names.map((name, i) => [name, checkedValue(name, decoded(name, match[i + 1]!))] as const));
      checkQueryEncoding(event.rawQueryString);
      // Query names are the client's: no prototype, so `?constructor=` is a name like any other.
      const query = recordFrom(Object.entries(event.queryStringParameters ?? {}).map(([k, v]) => [checkedValue('query parameter name', k), checkedValue(k, v ?? '')] as const));
      return route.handler({ event, context, params, query });
    }
    if (pathMatched) throw new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${path}`);
    throw new ApiError(404, 'not_found', `no route for ${method} ${path}`);
  }
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
    throw badRequest(`${name} is longer than ${MAX_PARAMETER_BYTES} bytes`, [{ path: name, message: `longer than ${MAX_PARAMETER_BYTES} bytes` }]);
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
