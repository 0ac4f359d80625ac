/** Errors Prisme raises on purpose. They become HTTP responses or batch item failures only at the edge. */
import { PrismeError } from './domain/errors';

export interface ErrorDetail {
  /** Dotted path of the offending field, '' for the whole body. */
  path: string;
  message: string;
  /** Position of the event in a batch, for ingest errors. */
  index?: number;
}

/**
 * Every code an error answer can carry (`{ "error": { "code", "message", "details" } }`), with what it
 * means. Codes are stable: clients may branch on them; messages are for people and may change.
 */
export const API_ERROR_CODES = {
  validation_failed: 'a field of the body or query is not valid; details name each one (and, in a batch, the event index)',
  bad_request: 'the request cannot be taken as it is: details say why',
  malformed_json: 'the body is not valid JSON',
  malformed_body: 'the body is not valid data of its Content-Encoding',
  too_deep: 'the body is nested deeper than Prisme reads',
  unsupported_encoding: 'a Content-Encoding Prisme does not decode (it reads gzip, deflate and br)',
  unauthorized: 'no valid write key (ingest) or admin token (admin API)',
  origin_not_allowed: "a browser's origin that the source does not allow (its allowedOrigins)",
  not_found: 'no such resource, route, or active source for this write key',
  method_not_allowed: 'the path exists, but not with this method',
  conflict: 'the request contradicts what is stored (a dependant segment, a draft, a concurrent change): read again and retry',
  request_too_large: 'the body is larger than Prisme accepts (once decompressed)',
  batch_too_large: 'a batch holds more events than Prisme accepts in one request',
  batch_context_too_large: "the batch's context, copied into each of its events, would make them too large",
  rate_limited: 'the source sends faster than its rate: retry after Retry-After seconds',
  internal: 'a fault of Prisme, logged on its side: retry (an ingest request that gets one was not acknowledged)',
} as const;
export type ApiErrorCode = keyof typeof API_ERROR_CODES;

/** An error a caller can fix; its code, message and details are safe to show. */
export class ApiError extends PrismeError {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details: ErrorDetail[] = []) => new ApiError(400, 'bad_request', message, details);

/** What was asked for does not exist (or no longer does). */
export class NotFoundError extends PrismeError {
  constructor(
    readonly what: string,
    message = `${what} not found`,
  ) {
    super(message);
  }
}

/** The request contradicts what is stored: a dependant, a limit, a draft, a managed segment. */
export class ConflictError extends PrismeError {}

/** Input that passed its schema but breaks a rule only the stored state can tell (a cycle, an unknown id). */
export class InvalidInputError extends PrismeError {
  constructor(
    message: string,
    readonly details: ErrorDetail[],
  ) {
    super(message);
  }
}

/** A conditional write lost a race; the caller re-reads and tries again. */
export class VersionConflictError extends PrismeError {}

/** A message that will never succeed, however often it is retried. */
export class PoisonMessageError extends PrismeError {}
