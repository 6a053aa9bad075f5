import { Problem } from '../common/problem.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import type { Env } from '../config/env.js';

/**
 * Counts one ack call (a stream ack frame or a POST /v1/inbox/ack, whatever
 * its ids) against the account's RATE_LIMIT_ACK; a 429 Problem past it.
 * With Redis unavailable the ack goes through uncounted: acking only ever
 * lightens the server, and the ack itself needs PostgreSQL alone.
 */
export async function countAck(limiter: RateLimiter, env: Env, accountId: string): Promise<void> {
  try {
    await limiter.hit('ack', accountId, env.RATE_LIMIT_ACK, env.RATE_LIMIT_WINDOW_SECONDS);
  } catch (error) {
    if (error instanceof Problem) throw error;
  }
}
