/** `npm run schemas`: writes the JSON Schemas of Prisme's published events from their zod contracts. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventContracts, jsonSchemaOf, schemaFileName } from '../shared/contracts/events';
import type { DetailType } from '../shared/adapters/eventbridge/event-publisher';

for (const detailType of Object.keys(eventContracts) as DetailType[]) {
  const file = join('schemas', 'events', schemaFileName(detailType));
  writeFileSync(file, `${JSON.stringify(jsonSchemaOf(detailType), null, 2)}\n`);
  console.log(`wrote ${file}`);
}
