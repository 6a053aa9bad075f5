import { Problem } from '../common/problem.js';
import type { Env } from '../config/env.js';
import type { SendMessageDto } from './dto/messages.dto.js';

/**
 * The limits every send is held to whatever it is (stored or ephemeral): the
 * configured maxima of ttlSeconds and of the body. Returns the send's ttl.
 */
export function checkSendLimits(
  request: Pick<SendMessageDto, 'ttlSeconds' | 'body'>,
  env: Pick<Env, 'DEFAULT_TTL_SECONDS' | 'MAX_TTL_SECONDS' | 'MAX_BODY_BYTES'>,
): number {
  const ttl = request.ttlSeconds ?? env.DEFAULT_TTL_SECONDS;
  if (ttl > env.MAX_TTL_SECONDS) {
    throw Problem.badRequest('validation_failed', `ttlSeconds: at most ${env.MAX_TTL_SECONDS}`, {
      errors: [{ field: 'ttlSeconds', message: `must be at most ${env.MAX_TTL_SECONDS}` }],
    });
  }
  if (request.body.length > env.MAX_BODY_BYTES) {
    throw new Problem(
      413,
      'body_too_large',
      'Payload too large',
      `The body is at most ${env.MAX_BODY_BYTES} bytes`,
    );
  }
  return ttl;
}
