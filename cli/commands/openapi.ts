/** `prisme openapi`: Prisme's OpenAPI 3.1 document, as GET /v1/openapi.json serves it, with no Prisme running. */

import type { Command } from 'commander';
import { prismeApiDocument } from '#functions/admin/admin';
import { documentText } from '#functions/admin/api-document';
import { EXIT } from '../exit-codes';

export function openapiCommand(program: Command, done: (code: number) => void): void {
  program
    .command('openapi')
    .summary("print the API's OpenAPI 3.1 document")
    .description(
      "Print Prisme's OpenAPI 3.1 document (the ingest and admin APIs, their bodies and query parameters, the error codes): the one a running Prisme serves at GET /v1/openapi.json. schemas/openapi.json is this output (npm run schemas writes it).",
    )
    .action(() => {
      process.stdout.write(documentText(prismeApiDocument()));
      done(EXIT.ok);
    });
}
