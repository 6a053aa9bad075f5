import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery, ApiResponse, ApiSecurity } from '@nestjs/swagger';
import type { ZodDtoClass } from '../common/validation.js';
import { type JsonSchema, requestSchema, schemaRef, UUID } from './openapi-schemas.js';

// The pieces the controllers' @nestjs/swagger decorators share: requests
// described by their zod schemas, answers by openapi-schemas.ts, failures as
// problem+json with the codes a client can meet.

/** The security schemes of the document (their names are what routes refer to). */
export const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer' },
  adminCredential: {
    type: 'http',
    scheme: 'bearer',
    description:
      'an admin credential (sna_…) from `npm run admin -- credential create`, never a user token',
  },
} as const;

/** The groups of routes (each controller's @ApiTags), in the order the viewer shows them. */
export const API_TAGS = {
  'accounts and devices': 'Accounts, their devices, signing in (challenge and token), link codes',
  directory: 'An account’s devices and public keys, by handle or by id',
  conversations: 'Groups of accounts that messages are sent to',
  messages: 'Sending, delivery status, the inbox and acks (the live stream is in protocol.md)',
  push: 'Web Push: the server’s VAPID key and a device’s subscription',
  calls: 'TURN credentials for calls',
  transparency: 'Public counts of legal holds and exports',
  admin: 'Legal holds and the hash-chained logs, with an admin credential',
  operations: 'Health and metrics, for orchestrators and monitoring',
} as const;

/** A device's bearer token, from POST /v1/auth/token. */
export const ApiDeviceAuth = () => ApiSecurity('bearer');
/** An admin credential, never a user token. */
export const ApiAdminAuth = () => ApiSecurity('adminCredential');

/** Failures keyed by HTTP status, each with the problem codes it carries. */
export type Problems = Record<number, string>;

/** Routes that read a body or a query: refused input, and a store that is down. */
export const INPUT_PROBLEMS: Problems = {
  400: 'validation_failed, malformed_json',
  503: 'service_unavailable (Retry-After)',
};
export const DEVICE_AUTH_PROBLEMS: Problems = { 401: 'token_invalid' };
export const ADMIN_AUTH_PROBLEMS: Problems = { 401: 'admin_credential_invalid' };

/**
 * One problem+json answer per status. Callers merge their maps into one
 * object first: swagger joins the descriptions of two decorators for the same
 * status, where a route means to replace the shared one.
 */
export function ApiProblems(problems: Problems) {
  return applyDecorators(
    ...Object.entries(problems).map(([status, codes]) =>
      ApiResponse({
        status: Number(status),
        description: codes,
        content: { 'application/problem+json': { schema: schemaRef('Problem') } },
      }),
    ),
  );
}

/** A success answer with a JSON body of `schema`. */
export const ApiAnswer = (status: number, schema: JsonSchema, description = 'OK') =>
  ApiResponse({ status, description, schema });

/** A success answer without a body (204). */
export const ApiEmptyAnswer = (description: string) => ApiResponse({ status: 204, description });

/** A success answer that is not JSON (NDJSON, Prometheus text). */
export function ApiTextAnswer(mediaType: string, description: string) {
  return ApiResponse({
    status: 200,
    description,
    content: { [mediaType]: { schema: { type: 'string' } } },
  });
}

/** The JSON body of a route, as its DTO's zod schema validates it. */
export function ApiJsonBody(dto: Pick<ZodDtoClass<unknown>, 'schema'>) {
  return ApiBody({ required: true, schema: requestSchema(dto) });
}

/** The query parameters of a route, one per field of its DTO's zod schema. */
export function ApiQueryOf(dto: Pick<ZodDtoClass<unknown>, 'schema'>) {
  const { properties = {}, required = [] } = requestSchema(dto) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return applyDecorators(
    ...Object.entries(properties).map(([name, { description, ...schema }]) =>
      ApiQuery({
        name,
        required: required.includes(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema,
      }),
    ),
  );
}

/** A path parameter holding a UUID. */
export const ApiUuidParam = (name: string) => ApiParam({ name, schema: UUID });
