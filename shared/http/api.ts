/** The HTTP edge: API Gateway v2 events in, JSON responses out, errors mapped once. */

import { timingSafeEqual } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ZodError } from 'zod';
import { ApiError, ConflictError, InvalidInputError, NotFoundError, VersionConflictError } from '../errors';
import type { Logger } from '../logger';
import { NO_SNIFF } from './security-headers';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;
export type HttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json', ...NO_SNIFF, ...headers }, body: JSON.stringify(body) };
}

export const header = (event: HttpEvent, name: string): string | undefined => {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === lower) return value;
  return undefined;
};

export const rawBody = (event: HttpEvent): Buffer => Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');

/** Parses a JSON object body or throws a 400 that says why. */
export function jsonBody(event: HttpEvent): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody(event).toString('utf8') || 'null');
  } catch (error) {
    throw new ApiError(400, 'malformed_json', `body is not valid JSON: ${(error as Error).message}`, [
      { path: '', message: 'malformed JSON' },
    ]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, 'bad_request', 'body must be a JSON object', [{ path: '', message: 'must be a JSON object' }]);
  }
  return parsed as Record<string, unknown>;
}

export const zodDetails = (error: ZodError) => error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));

/**
 * The errors a caller can act on, as HTTP: use cases throw the project's errors, and only this edge
 * knows their status codes. Anything else is a fault of ours.
 */
export function apiErrorOf(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof ZodError) return new ApiError(400, 'validation_failed', 'request is not valid', zodDetails(error));
  if (error instanceof InvalidInputError) return new ApiError(400, 'bad_request', error.message, error.details);
  if (error instanceof NotFoundError) return new ApiError(404, 'not_found', error.message);
  if (error instanceof ConflictError) return new ApiError(409, 'conflict', error.message);
  if (error instanceof VersionConflictError)
    return new ApiError(409, 'conflict', 'changed concurrently by another request; read it again and retry');
  return undefined;
}

/**
 * middy middleware: errors a caller can act on become JSON with a stable code and the offending
 * path; anything else is logged and becomes a bare 500, never leaking internals.
 */
export function httpErrors(logger: Logger): middy.MiddlewareObj<HttpEvent, HttpResult> {
  return {
    onError: async (request) => {
      const answer = apiErrorOf(request.error);
      if (answer) {
        request.response = json(
          answer.statusCode,
          { error: { code: answer.code, message: answer.message, details: answer.details } },
          answer.headers,
        );
        return;
      }
      logger.error('request failed', { error: request.error as Error, path: request.event?.rawPath });
      request.response = json(500, { error: { code: 'internal', message: 'internal error' } });
    },
  };
}

/** Constant-time comparison of secrets, so response timing reveals nothing about them. */
export function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Wraps a request function with the shared middlewares; `.handler()` last so types flow through. */
export function httpHandler(
  handle: (event: HttpEvent, context: Context) => Promise<HttpResult>,
  logger: Logger,
  ...middlewares: middy.MiddlewareObj<HttpEvent, HttpResult>[]
): HttpHandler {
  return middy<HttpEvent, HttpResult>().use(httpErrors(logger)).use(middlewares).handler(handle);
}
