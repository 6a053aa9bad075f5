// npm run openapi: rewrites docs/openapi.json and docs/asyncapi.json from
// src/api-docs (the server serves the same documents).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAsyncApi } from '../src/api-docs/asyncapi-document.js';
import { buildOpenApi } from '../src/api-docs/openapi-document.js';

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs');
export const OPENAPI_FILE = path.join(docs, 'openapi.json');
export const ASYNCAPI_FILE = path.join(docs, 'asyncapi.json');

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const [file, document] of [
    [OPENAPI_FILE, buildOpenApi()],
    [ASYNCAPI_FILE, buildAsyncApi()],
  ] as const) {
    writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
    console.log(`wrote ${file}`);
  }
}
