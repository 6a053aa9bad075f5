// Connection failures to PostgreSQL or Redis, Redis refusing writes (full
// under noeviction: OOM; a replica: READONLY; loading its data: LOADING),
// and PostgreSQL refusing work for now (a statement cancelled by its
// timeout, a lock not granted in time, a deadlock, too many connections,
// shutting down): answer 503 with Retry-After, not 500.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57014', // query_canceled (statement_timeout)
  '55P03', // lock_not_available (lock_timeout)
  '40P01', // deadlock_detected
  '40001', // serialization_failure
]);
// SQLSTATE classes: 53 insufficient resources (53300 too_many_connections,
// out of memory or disk), 57P operator intervention (shutdown, restart).
const UNAVAILABLE_CODE_PREFIXES = ['53', '57P'];
/** Whether an error is a dependency refusing work for now (answered 503 with Retry-After, or retried). */
export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  const message = error instanceof Error ? error.message : '';
  return (
    (code !== undefined &&
      (UNAVAILABLE_CODES.has(code) ||
        (/^[0-9A-Z]{5}$/.test(code) &&
          UNAVAILABLE_CODE_PREFIXES.some((prefix) => code.startsWith(prefix))))) ||
    /timeout exceeded when trying to connect|Query read timeout|Connection terminated|Connection is closed|max retries per request|enableOfflineQueue|Stream isn't writeable|connection error and is not queryable|^OOM command not allowed|^READONLY|^LOADING/i.test(
      message,
    )
  );
}
