/**
 * Prisme's OpenAPI 3.1 document: the ingest API and every admin route table, served at
 * `GET /v1/openapi.json` and kept in schemas/openapi.json (`npm run schemas`).
 */

import { ingestPathsOf } from '#shared/http/ingest-document';
import { type Components, ERROR_SCHEMA_NAME, errorSchema, type Paths, routeOperations } from '#shared/http/openapi';
import type { Route } from '#shared/http/router';

export interface ApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  tags: Array<{ name: string; description: string }>;
  paths: Paths;
  components: { schemas: Components; securitySchemes: Record<string, Record<string, string>> };
  security: Array<Record<string, string[]>>;
}

const TAGS: Record<string, string> = {
  ingest:
    'Segment-compatible event collection: HTTP Basic with the write key as user name (or writeKey in the body); JSON, text/plain, gzip, deflate or br bodies',
  profiles: 'The unified view of a person, their identity, and the rights of access and erasure',
  segments: 'Segments: saved, previewed, sized, explained and charted',
  audiences: 'Audiences: drafts until approved, snapshots to S3 for ESPs',
  sources: 'Sources: write keys, default channels and allowed browser origins',
  jobs: 'Jobs: replay, the freeze, backfills, and the dead-letter queue',
  indicators: 'Indicators: definitions, revisions and clusters',
  catalog: 'What Prisme has seen: event names with their property keys, trait names, with counts and a few values',
  docs: 'This document',
};

export function apiDocument(adminTables: Record<string, readonly Route<never>[]>): ApiDocument {
  const schemas: Components = { [ERROR_SCHEMA_NAME]: errorSchema };
  const paths = { ...ingestPathsOf(schemas), ...routeOperations(adminTables, schemas) };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Prisme',
      version: '1',
      description:
        'Customer events in (the ingest API, Segment-compatible), unified profiles, segments and audiences out (the admin API). Every error answer is `{ "error": { "code", "message", "details" } }` with a stable code.',
    },
    tags: Object.keys({ ingest: [], ...adminTables }).map((name) => ({ name, description: TAGS[name] ?? name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        writeKey: { type: 'http', scheme: 'basic', description: "a source's write key as the user name, an empty password" },
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'locally, the admin token npm start prints; on AWS, the admin API takes IAM SigV4 (execute-api) or, with prisme:adminJwt, a JWT from your OIDC issuer',
        },
      },
    },
    // The admin API's; ingest operations name their own.
    security: [{ adminToken: [] }],
  };
}

/** The document as schemas/openapi.json keeps it. */
export const documentText = (document: ApiDocument): string => `${JSON.stringify(document, null, 2)}\n`;
