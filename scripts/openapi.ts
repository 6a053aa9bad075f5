// npm run openapi: rewrites docs/openapi.json and docs/asyncapi.json from the
// app's controllers and src/api-docs (the server serves the same documents).
// It runs compiled (dist/scripts/openapi.js): @nestjs/swagger reads the
// parameter types that tsc records as decorator metadata, which tsx does not.
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { buildAsyncApi } from '../src/api-docs/asyncapi-document.js';
import { buildOpenApi } from '../src/api-docs/openapi-document.js';
import { AppModule } from '../src/app.module.js';
import { loadEnv } from '../src/config/env.js';

// This file runs from scripts/ (imported by tests) and from dist/scripts/.
const here = path.dirname(fileURLToPath(import.meta.url));
const repositoryRoot = path.resolve(
  here,
  path.basename(path.dirname(here)) === 'dist' ? '../..' : '..',
);

const docs = path.join(repositoryRoot, 'docs');
export const OPENAPI_FILE = path.join(docs, 'openapi.json');
export const ASYNCAPI_FILE = path.join(docs, 'asyncapi.json');

/**
 * The app's routes without PostgreSQL or Redis: in preview mode Nest registers
 * the modules and controllers and instantiates nothing, which is all that
 * @nestjs/swagger reads.
 */
async function openApiOfTheApp(): Promise<object> {
  const app = await NestFactory.create(AppModule.forRole(loadEnv({})), new FastifyAdapter(), {
    preview: true,
    logger: false,
  });
  try {
    return buildOpenApi(app);
  } finally {
    await app.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const [file, document] of [
    [OPENAPI_FILE, await openApiOfTheApp()],
    [ASYNCAPI_FILE, buildAsyncApi()],
  ] as const) {
    writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
    console.log(`wrote ${file}`);
  }
}
