import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { buildAsyncApi } from './asyncapi-document.js';
import { buildOpenApi } from './openapi-document.js';

export const API_DOCS_PATH = '/docs';
export const OPENAPI_JSON_PATH = '/openapi.json';
export const ASYNCAPI_JSON_PATH = '/asyncapi.json';

/**
 * The references, served: Swagger UI at /docs (try a call with a token in
 * "Authorize"), the HTTP document at /openapi.json, the stream's AsyncAPI
 * document at /asyncapi.json.
 */
export function mountApiDocs(app: NestFastifyApplication): void {
  SwaggerModule.setup(API_DOCS_PATH.slice(1), app, buildOpenApi(app), {
    jsonDocumentUrl: OPENAPI_JSON_PATH.slice(1),
    raw: ['json'],
    customSiteTitle: 'Supernode API',
  });
  const asyncapi = buildAsyncApi();
  app
    .getHttpAdapter()
    .getInstance()
    .get(ASYNCAPI_JSON_PATH, (_request, reply) => reply.send(asyncapi));
}
