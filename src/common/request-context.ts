import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * The request a piece of work belongs to, carried through async calls: set
 * for each HTTP request, and again around each job or routed message that
 * stems from one, so that every log line of that work names the request
 * (the logger's mixin reads it).
 */
const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/** The request id of the work running now, if it stems from a request. */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

/** Runs `work` as part of the request `requestId` (no-op without one). */
export function withRequestId<T>(requestId: string | undefined, work: () => T): T {
  return requestId ? requestContext.run({ requestId }, work) : work();
}

// A client's own X-Request-Id is kept when it is short and plain (it is
// logged); anything else gets a fresh one.
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id of an incoming request: the client's X-Request-Id when usable, else a UUID. */
export function requestIdFor(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}
