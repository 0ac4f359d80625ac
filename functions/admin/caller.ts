/** Who is calling the admin API, for the records that name a person (approvals). */
import type { HttpEvent } from '#shared/http/api';

interface Authorizer {
  iam?: { userArn?: string };
  jwt?: { claims?: Record<string, unknown> };
}

/** On AWS the caller's IAM or JWT identity; locally the name given, as the bearer token names nobody. */
export function callerOf(event: HttpEvent, givenName: string | undefined): string {
  const authorizer = (event.requestContext as { authorizer?: Authorizer }).authorizer;
  const jwtCaller = authorizer?.jwt?.claims?.email ?? authorizer?.jwt?.claims?.sub;
  return authorizer?.iam?.userArn ?? (typeof jwtCaller === 'string' ? jwtCaller : undefined) ?? givenName ?? 'local admin';
}
