/** `npm run schemas`: writes the JSON Schemas of Prisme's contracts (events, segment definitions) and its OpenAPI document, from their zod definitions. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prismeApiDocument } from '#functions/admin/admin';
import { documentText } from '#functions/admin/api-document';
import type { DetailType } from '#shared/contracts/detail-types';
import { eventContracts, jsonSchemaOf, schemaFileName } from '#shared/contracts/events';
import { CONDITION_LANGUAGE_VERSION, segmentJsonSchema } from '#shared/domain/segment-definition';

for (const detailType of Object.keys(eventContracts) as DetailType[]) {
  const file = join('schemas', 'events', schemaFileName(detailType));
  writeFileSync(file, `${JSON.stringify(jsonSchemaOf(detailType), null, 2)}\n`);
  console.log(`wrote ${file}`);
}

const segmentFile = join('schemas', `segment.v${CONDITION_LANGUAGE_VERSION}.json`);
writeFileSync(segmentFile, `${JSON.stringify(segmentJsonSchema(), null, 2)}\n`);
console.log(`wrote ${segmentFile}`);

const openApiFile = join('schemas', 'openapi.json');
writeFileSync(openApiFile, documentText(prismeApiDocument()));
console.log(`wrote ${openApiFile}`);
