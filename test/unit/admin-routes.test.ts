/**
 * The admin API's route tables, dispatched by the router with stand-in stores: queries and bodies
 * are checked by their schemas before any store is read, defaults apply, the project's errors get
 * their status codes at the edge, and the approver is whoever the gateway says called.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ADMIN_ROUTES, type AdminDeps, createAdminHandler } from '#functions/admin/admin';
import { ConflictError, InvalidInputError, NotFoundError, VersionConflictError } from '#shared/errors';
import type { HttpEvent } from '#shared/http/api';

const NOW = Date.parse('2026-12-07T10:00:00.000Z');

/** Stores that record their calls and fail loudly when a route reads one it was not given. */
function standIns(stores: Record<string, Record<string, unknown>> = {}) {
  const calls: Array<[string, unknown[]]> = [];
  const store = (name: string) =>
    new Proxy(stores[name] ?? {}, {
      get: (target, member: string) => {
        const value = target[member];
        if (value === undefined) throw new Error(`unexpected read of ${name}.${member}`);
        if (typeof value !== 'function') return value; // a collection, such as catalog.segments
        return (...args: unknown[]) => {
          calls.push([`${name}.${member}`, args]);
          return (value as (...a: unknown[]) => unknown)(...args);
        };
      },
    });
  const deps = {
    catalog: store('catalog'),
    profiles: store('profiles'),
    identities: store('identities'),
    memberships: store('memberships'),
    frozen: store('frozen'),
    groups: store('groups'),
    objects: store('objects'),
    queue: store('queue'),
    publisher: store('publisher'),
    seen: store('seen'),
    logger: new Logger({ serviceName: 'admin-test', logLevel: 'SILENT' }),
    now: () => NOW,
    segmentEvaluationDelaySeconds: 0,
    previewBudgetMs: 1000,
  } as unknown as AdminDeps;
  return { deps, calls };
}

const request = (method: string, path: string, options: { query?: string; body?: unknown; authorizer?: unknown } = {}): HttpEvent =>
  ({
    rawPath: path,
    rawQueryString: options.query ?? '',
    queryStringParameters: options.query ? Object.fromEntries(new URLSearchParams(options.query)) : undefined,
    headers: { 'content-type': 'application/json' },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: { http: { method }, ...(options.authorizer !== undefined && { authorizer: options.authorizer }) },
  }) as unknown as HttpEvent;

async function call(deps: AdminDeps, event: HttpEvent) {
  const response = await createAdminHandler(deps)(event, {} as Context);
  return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined };
}

describe('the admin route tables', () => {
  it('route each method and path once, every path under /v1/ with its parameters named', () => {
    const keys = ADMIN_ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of ADMIN_ROUTES) expect(r.path).toMatch(/^\/v1\/[a-z]+(\.json)?(\/([a-z-]+|\{[A-Za-z]+\}))*$/);
    expect(keys).toContain('PUT /v1/segments/{segmentId}');
    expect(keys).toContain('GET /v1/jobs/backfill/runs/{runId}');
  });

  it.each([
    ['/v1/segments/s/members', 'limit=0', 'limit'],
    ['/v1/segments/s/members', 'limit=1001', 'limit'],
    ['/v1/segments/s/members', 'limit=ten', 'limit'],
    ['/v1/segments/s/history', 'days=401', 'days'],
    ['/v1/segments/s/history', 'days=1.5', 'days'],
    ['/v1/migrations', 'from=2026-13', 'from'],
    ['/v1/migrations', 'to=2026-13-01', 'to'],
    ['/v1/migrations', 'from=2026-02-30', 'from'],
    ['/v1/audiences/a/snapshots/r/esp-url', 'expiresIn=59', 'expiresIn'],
    ['/v1/audiences/a/snapshots/r/esp-url', 'expiresIn=604801', 'expiresIn'],
    ['/v1/jobs/freeze/runs', 'limit=-1', 'limit'],
  ])('refuse %s?%s with a 400 naming %s, before reading any store', async (path, query, field) => {
    const { deps, calls } = standIns();
    const { status, body } = await call(deps, request('GET', path, { query }));
    expect(status).toBe(400);
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details.map((d: { path: string }) => d.path)).toEqual([field]);
    expect(calls).toEqual([]);
  });

  it('apply the documented defaults when a query parameter is absent or empty', async () => {
    const { deps, calls } = standIns({
      catalog: { segments: { get: async () => ({ id: 's' }) }, listRuns: async () => [] },
      memberships: { members: async () => ({ items: [] }) },
    });
    expect((await call(deps, request('GET', '/v1/segments/s/members', { query: 'limit=' }))).status).toBe(200);
    expect((await call(deps, request('GET', '/v1/jobs/replay/runs'))).status).toBe(200);
    expect(calls).toEqual([
      ['memberships.members', ['s', undefined, 100]],
      ['catalog.listRuns', ['job#replay', 100]],
    ]);
  });

  it('refuse a body its schema refuses, naming the field, and an unknown field of a strict one', async () => {
    const { deps, calls } = standIns();
    const replay = await call(deps, request('POST', '/v1/jobs/replay', { body: { from: '2026-11-02', to: '2026-11-01' } }));
    expect(replay.status).toBe(400);
    expect(replay.body.error.details).toEqual([{ path: 'to', message: 'must not be before from' }]);
    const approve = await call(deps, request('POST', '/v1/audiences/a/approve', { body: { approvedBy: 'marie', extra: 1 } }));
    expect(approve.status).toBe(400);
    expect(approve.body.error.details[0].path).toBe('');
    expect(approve.body.error.details[0].message).toMatch(/extra/);
    expect(calls).toEqual([]);
  });

  it.each([
    [new NotFoundError('segment s'), 404, 'not_found', 'segment s not found'],
    [new ConflictError('segment is used by audience(s) a'), 409, 'conflict', 'segment is used by audience(s) a'],
    [new VersionConflictError('lost the race'), 409, 'conflict', 'changed concurrently by another request; read it again and retry'],
    [
      new InvalidInputError('segment x does not exist', [{ path: 'segmentId', message: 'unknown segment' }]),
      400,
      'bad_request',
      'segment x does not exist',
    ],
    [new Error('table prisme-catalog is unreachable'), 500, 'internal', 'internal error'],
  ])('map %s thrown by a use case to its status and code, and nothing else of an unexpected one', async (error, status, code, message) => {
    const { deps } = standIns({ catalog: { getRun: async () => Promise.reject(error) } });
    const response = await call(deps, request('GET', '/v1/jobs/freeze/runs/r1'));
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toBe(message);
  });

  it('record as approver the IAM caller, then the JWT caller, then the name given, then "local admin"', async () => {
    const approvers: string[] = [];
    const audience = {
      id: 'a',
      segmentId: 's',
      revision: 3,
      status: 'draft',
      minSize: 1,
      holdoutPercent: 0,
      fields: ['email'],
      format: 'csv.gz',
    };
    const { deps } = standIns({
      catalog: {
        audiences: {
          get: async () => audience,
          put: async (approved: { approval: { by: string } }) => void approvers.push(approved.approval.by),
        },
      },
      memberships: { members: async () => ({ items: [] }) },
    });
    const approve = (authorizer?: unknown, body?: unknown) => call(deps, request('POST', '/v1/audiences/a/approve', { authorizer, body }));
    expect((await approve({ iam: { userArn: 'arn:aws:iam::1:user/marie' } }, { approvedBy: 'someone' })).status).toBe(200);
    expect((await approve({ jwt: { claims: { email: 'marie@example.com', sub: 'u-1' } } })).status).toBe(200);
    expect((await approve({ jwt: { claims: { sub: 'u-1' } } })).status).toBe(200);
    expect((await approve(undefined, { approvedBy: 'marie' })).status).toBe(200);
    const last = await approve();
    expect(last.status).toBe(200);
    expect(approvers).toEqual(['arn:aws:iam::1:user/marie', 'marie@example.com', 'u-1', 'marie', 'local admin']);
    expect(last.body).toMatchObject({
      status: 'approved',
      revision: 4,
      previewedSize: 0,
      approval: { at: '2026-12-07T10:00:00.000Z', size: 0, audienceRevision: 3 },
    });
  });
});
