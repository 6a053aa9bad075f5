import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

// A client's own X-Request-Id is kept when it is short and plain (it is
// logged); anything else gets a fresh one.
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id of an incoming request: the client's X-Request-Id when usable, else a UUID. */
export function requestIdFor(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * The id of the request being handled, for work that outlives it (a send's
 * fan-out job and frames log it). Passed by hand rather than through an
 * AsyncLocalStorage: on Node 20 that costs every promise of the process,
 * which slows the send path (measured with the benchmark).
 */
export const RequestId = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string =>
    context.switchToHttp().getRequest<FastifyRequest>().id,
);
