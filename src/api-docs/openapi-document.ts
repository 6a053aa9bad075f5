import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { API_TAGS, SECURITY_SCHEMES } from './openapi-decorators.js';
import { COMPONENT_SCHEMAS } from './openapi-schemas.js';

// The HTTP reference, served at /openapi.json (and /docs) and committed as
// docs/openapi.json: @nestjs/swagger reads it from the controllers' routes
// and their decorators, whose request schemas are the zod schemas that
// validate requests, so neither paths nor bodies can drift. `npm run openapi`
// rewrites the file; a test checks it is current and documents every route.

/** The OpenAPI document of the app's controllers. */
export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setOpenAPIVersion('3.0.3')
    .setTitle('Supernode')
    .setVersion('1')
    .setDescription('HTTP reference. The WebSocket stream (GET /v1/stream) is in protocol.md.');
  for (const [tag, description] of Object.entries(API_TAGS)) builder.addTag(tag, description);
  const config = builder.build();
  // Merged by createDocument with the schemas it finds: the shared answers
  // that routes refer to by $ref.
  config.components = { securitySchemes: SECURITY_SCHEMES, schemas: COMPONENT_SCHEMAS };
  return SwaggerModule.createDocument(app, config);
}
