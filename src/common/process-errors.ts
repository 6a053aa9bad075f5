import { describeError } from './describe-error.js';

/** Where the process-wide handlers log: Nest's Logger fits. */
export interface ErrorLog {
  error(fields: { error: string }, message: string): void;
}

/** The part of `process` the handlers hang on (a test passes an EventEmitter). */
export interface ProcessEvents {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  on(event: 'uncaughtException', listener: (error: Error) => void): unknown;
  off(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  off(event: 'uncaughtException', listener: (error: Error) => void): unknown;
}

/**
 * Logs a rejection nobody handled and an exception nobody caught, and keeps
 * the process running: by default Node ends the process on either, which
 * would let one request that reaches an unguarded callback end every
 * connection the process holds.
 *
 * Running on is safe here because no state of record lives in the process:
 * messages, devices and tokens change in PostgreSQL transactions (a throw
 * rolls back), queues live in Redis, and what the process keeps (sockets,
 * presence, caches) belongs to one connection or is refreshed from the
 * database and Redis by the heartbeat and the reconciler. A rejection has
 * unwound to an `await` like any caught error; an exception has unwound one
 * event callback. Only the error's class, code and message are logged: no
 * stack and no request data.
 *
 * Returns a function that removes both handlers.
 */
export function keepRunningOnStrayErrors(
  log: ErrorLog,
  events: ProcessEvents = process,
): () => void {
  const onRejection = (reason: unknown) =>
    log.error({ error: describeError(reason) }, 'unhandled rejection, process kept running');
  const onException = (error: Error) =>
    log.error({ error: describeError(error) }, 'uncaught exception, process kept running');
  events.on('unhandledRejection', onRejection);
  events.on('uncaughtException', onException);
  return () => {
    events.off('unhandledRejection', onRejection);
    events.off('uncaughtException', onException);
  };
}
