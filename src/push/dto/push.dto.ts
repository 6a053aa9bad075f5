import { z } from 'zod';
import { zodDto } from '../../common/validation.js';

// An endpoint is a URL of the push service; browsers give a few hundred characters.
const MAX_ENDPOINT_LENGTH = 2048;

/** base64url without padding (Web Push's own encoding) of exactly `bytes` bytes. */
const base64UrlBytes = (bytes: number, what: string) =>
  z
    .string()
    .max(Math.ceil((bytes * 4) / 3) + 2)
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, 'must be base64url')
    .transform((value, context) => {
      const decoded = Buffer.from(value, 'base64url');
      if (decoded.length !== bytes) {
        context.addIssue({ code: 'custom', message: `must be ${what} (${bytes} bytes)` });
        return z.NEVER;
      }
      return decoded;
    });

/** A Web Push subscription as `PushSubscription.toJSON()` gives it. */
export class PushSubscriptionDto extends zodDto(
  z.strictObject({
    endpoint: z.string().max(MAX_ENDPOINT_LENGTH),
    expirationTime: z.number().nullable().optional(),
    keys: z.strictObject({
      p256dh: base64UrlBytes(65, 'an uncompressed P-256 point').refine(
        (point) => point[0] === 0x04,
        'must be an uncompressed P-256 point',
      ),
      auth: base64UrlBytes(16, 'the auth secret'),
    }),
  }),
) {}
