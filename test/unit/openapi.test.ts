/**
 * The OpenAPI document: valid OpenAPI 3.1, one operation for every route the routers serve and none
 * else, every reference resolving, its schemas accepting what real clients send and refusing what the
 * handlers refuse, and schemas/openapi.json up to date.
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { ADMIN_ROUTES, prismeApiDocument } from '#functions/admin/admin';
import { documentText } from '#functions/admin/api-document';
import { API_ERROR_CODES } from '#shared/errors';
import { INGEST_ENDPOINTS, ingestPaths, ingestRouteOf, LIBRARY_ROUTES, SETTINGS_ROUTE } from '#shared/routes';

const document = prismeApiDocument();
const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, path, operation })),
);

/** Ajv over the whole document, so a schema's $refs resolve against its components. */
function schemaValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...document, $id: 'prisme' }, 'prisme');
  return (pointer: string, value: unknown) => {
    const validate = ajv.getSchema(`prisme#${pointer}`);
    if (!validate) throw new Error(`no schema at ${pointer}`);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

const bodyPointer = (method: string, path: string) =>
  `/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}/requestBody/content/application~1json/schema`;

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(structuredClone(document) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
  });

  it('has one operation for every admin route and ingest path the routers serve, and no other', () => {
    const admin = ADMIN_ROUTES.map((r) => `${r.method} ${r.path}`);
    const ingest = [
      ...INGEST_ENDPOINTS.flatMap((endpoint) => ingestPaths(endpoint).map((path) => `POST ${path}`)),
      `GET ${SETTINGS_ROUTE}`,
      ...LIBRARY_ROUTES.map((path) => `GET ${path}`),
    ];
    expect(operations.map((o) => o.key).sort()).toEqual([...admin, ...ingest].sort());
    // The ingest paths are those ingest answers (the admin router takes everything else under /v1/).
    for (const { key, path } of operations.filter((o) => o.operation.tags.includes('ingest')))
      expect(ingestRouteOf(path.replace('{file}', 'x.js').replace('{writeKey}', 'wk_x')), key).toBeDefined();
    expect(new Set(operations.map((o) => o.operation.operationId)).size).toBe(operations.length);
    for (const { key, operation } of operations) expect(operation.summary, key).toMatch(/\w{3}/);
  });

  it('lists every stable error code, and every $ref resolves', () => {
    const text = JSON.stringify(document);
    expect(document.components.schemas.Error).toMatchObject({
      properties: { error: { properties: { code: { enum: Object.keys(API_ERROR_CODES) } } } },
    });
    const refs = new Set([...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!));
    expect(refs.size).toBeGreaterThan(5);
    for (const name of refs) expect(document.components.schemas, name).toHaveProperty([name]);
    expect(text).not.toMatch(/"\$ref":"#\/\$defs/);
    const apiDoc = readFileSync(resolve(import.meta.dirname, '../../docs/api.md'), 'utf8');
    for (const [code, meaning] of Object.entries(API_ERROR_CODES)) expect(apiDoc).toContain(`| \`${code}\` | ${meaning} |`);
  });

  it("accepts what real clients send and refuses what the handlers refuse, in each body's schema", () => {
    const check = schemaValidator();
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    // The README's segment, as a user sends it.
    const segment = JSON.parse(/segments\/vip-store [^']*'(\{[\s\S]*?\})'/.exec(readme)![1]!);
    expect(check(bodyPointer('put', '/v1/segments/{segmentId}'), segment)).toEqual([]);
    expect(check(bodyPointer('put', '/v1/segments/{segmentId}'), { ...segment, condition: { type: 'sometimes' } })).not.toEqual([]);
    expect(check(bodyPointer('post', '/v1/jobs/replay'), { from: '2026-11-01', to: '2026-11-02' })).toEqual([]);
    expect(check(bodyPointer('post', '/v1/jobs/replay'), { from: '2026-11-01' })).not.toEqual([]);
    expect(check(bodyPointer('post', '/v1/jobs/replay'), { from: '2026-11-01', to: 'tomorrow' })).not.toEqual([]);
    // A batch as analytics-node sends it, and a track as the HTTP API takes it.
    const batch = {
      batch: [
        {
          type: 'track',
          event: 'Order Completed',
          userId: 'ada',
          properties: { revenue: 1 },
          messageId: 'm1',
          timestamp: '2026-12-07T10:00:00Z',
        },
        { type: 'identify', userId: 'ada', traits: { email: 'ada@example.com' } },
      ],
      context: { library: { name: '@segment/analytics-node', version: '2.1.0' } },
      sentAt: '2026-12-07T10:00:01Z',
    };
    expect(check(bodyPointer('post', '/v1/batch'), batch)).toEqual([]);
    expect(check(bodyPointer('post', '/v1/batch'), { batch: [{ type: 'purchase', userId: 'ada' }] })).not.toEqual([]);
    expect(check(bodyPointer('post', '/v1/track'), { userId: 'ada', event: 'Signed Up' })).toEqual([]);
    expect(check(bodyPointer('post', '/v1/track'), { userId: 'ada', event: 12 })).not.toEqual([]);
  });

  it('is what schemas/openapi.json holds (npm run schemas writes it)', () => {
    expect(readFileSync(resolve(import.meta.dirname, '../../schemas/openapi.json'), 'utf8')).toBe(documentText(document));
  });
});
