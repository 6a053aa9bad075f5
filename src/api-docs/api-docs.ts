import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { buildOpenApi } from './openapi-document.js';

export const API_DOCS_PATH = '/docs';
export const OPENAPI_JSON_PATH = '/openapi.json';

/**
 * The HTTP reference, served: Swagger UI at /docs (try a call with a token
 * in "Authorize"), the document itself at /openapi.json.
 */
export function mountApiDocs(app: NestFastifyApplication): void {
  const document = buildOpenApi() as unknown as OpenAPIObject;
  SwaggerModule.setup(API_DOCS_PATH.slice(1), app, document, {
    jsonDocumentUrl: OPENAPI_JSON_PATH.slice(1),
    raw: ['json'],
    customSiteTitle: 'Supernode API',
  });
}
