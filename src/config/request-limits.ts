import type { Env } from './env.js';

// The body limits of the HTTP routes, derived from the limits they must carry,
// so that a send the configuration allows is never refused for its size.

// One entry of a send's `keys` as compact JSON: {"deviceId":"<36>","wrappedKey":"<96>"},
// (a wrapped key is 72 bytes, 96 in base64), with room for optional whitespace.
const KEY_ENTRY_BYTES = 200;
// clientMessageId, to, ttlSeconds and the field names around body and keys.
const SEND_ENVELOPE_BYTES = 4096;
// One account id of a conversation's `members` ("<36>",) with room for whitespace.
const MEMBER_ENTRY_BYTES = 48;

/** The most wrapped keys one send can need: every device of every member of the largest group. */
export function maxKeysPerSend(env: Env): number {
  return env.MAX_CONVERSATION_MEMBERS * env.MAX_DEVICES_PER_ACCOUNT;
}

/** The request limit of POST /v1/messages: the largest body in base64 (4/3) and the most keys. */
export function sendBodyLimit(env: Env): number {
  const bodyBase64 = 4 * Math.ceil(env.MAX_BODY_BYTES / 3);
  return SEND_ENVELOPE_BYTES + bodyBase64 + maxKeysPerSend(env) * KEY_ENTRY_BYTES;
}

/** Body limits by "METHOD /path" (as routed); every other route gets HTTP_BODY_LIMIT_BYTES. */
export function routeBodyLimits(env: Env): Record<string, number> {
  return {
    'POST /v1/messages': sendBodyLimit(env),
    'POST /v1/conversations': Math.max(
      env.HTTP_BODY_LIMIT_BYTES,
      SEND_ENVELOPE_BYTES + env.MAX_CONVERSATION_MEMBERS * MEMBER_ENTRY_BYTES,
    ),
  };
}
