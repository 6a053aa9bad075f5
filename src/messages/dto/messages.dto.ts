import { z } from 'zod';
import { base64Bytes, configuredZodDto, uuidString, zodDto } from '../../common/validation.js';
import { maxKeysPerSend } from '../../config/request-limits.js';

// nonce(24) ‖ crypto_box_easy(K: 32 bytes) with its 16-byte MAC (PROTOCOL.md).
export const WRAPPED_KEY_BYTES = 24 + 32 + 16;
// nonce(24) and the AEAD tag (16) around an empty plaintext.
const MIN_BODY_BYTES = 24 + 16;

// An urgent send rings a sleeping device at once: it is for what is stale
// within a couple of minutes (a call invitation), so it must expire that soon.
export const MAX_URGENT_TTL_SECONDS = 120;

// At most one key per device of the largest group the configuration allows.
export class SendMessageDto extends configuredZodDto((env) =>
  z
    .strictObject({
      clientMessageId: uuidString(),
      to: z.union(
        [
          z.strictObject({ accountId: uuidString() }),
          z.strictObject({ conversationId: uuidString() }),
        ],
        {
          error: 'must be {accountId} or {conversationId}',
        },
      ),
      ttlSeconds: z.number().int().positive().optional(),
      body: base64Bytes({ minLength: MIN_BODY_BYTES }),
      keys: z
        .array(
          z.strictObject({
            deviceId: uuidString(),
            wrappedKey: base64Bytes({ length: WRAPPED_KEY_BYTES }),
          }),
        )
        .max(maxKeysPerSend(env))
        .refine(
          (keys) => new Set(keys.map((key) => key.deviceId)).size === keys.length,
          'names a device twice',
        ),
      urgent: z.boolean().optional(),
      ephemeral: z.boolean().optional(),
    })
    .refine((send) => !(send.urgent && send.ephemeral), {
      path: ['ephemeral'],
      message: 'a send is urgent (stored and pushed) or ephemeral (never stored), not both',
    })
    .refine(
      (send) =>
        !send.urgent ||
        (send.ttlSeconds !== undefined && send.ttlSeconds <= MAX_URGENT_TTL_SECONDS),
      {
        path: ['ttlSeconds'],
        message: `an urgent send needs ttlSeconds of at most ${MAX_URGENT_TTL_SECONDS}`,
      },
    ),
) {}

export class InboxQueryDto extends zodDto(
  z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
) {}

export class AckDto extends zodDto(
  z.strictObject({ messageIds: z.array(uuidString()).min(1).max(1000) }),
) {}
