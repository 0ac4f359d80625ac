/** Errors Prisme raises on purpose. They become HTTP responses or batch item failures only at the edge. */
import { PrismeError } from './domain/errors';

export interface ErrorDetail {
  /** Dotted path of the offending field, '' for the whole body. */
  path: string;
  message: string;
  /** Position of the event in a batch, for ingest errors. */
  index?: number;
}

/** An error a caller can fix; its code, message and details are safe to show. */
export class ApiError extends PrismeError {
  constructor(
    readonly statusCode: number,
    readonly code: string,
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
