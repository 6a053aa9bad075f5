import { randomBytes, randomUUID } from 'node:crypto';
import { BODY_BYTES } from '../sdk-contract.js';

/**
 * An InboxMessage frame as the stream sends it (PROTOCOL.md), with a 1 KiB
 * body and one wrapped key, and a `"t":0` placeholder for the send time.
 */
export function frameTemplate(): string {
  const now = new Date();
  return JSON.stringify({
    type: 'message',
    message: {
      messageId: randomUUID(),
      clientMessageId: randomUUID(),
      senderAccountId: randomUUID(),
      senderDeviceId: randomUUID(),
      conversationId: null,
      body: randomBytes(BODY_BYTES).toString('base64'),
      wrappedKey: randomBytes(72).toString('base64'),
      acceptedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 7 * 86_400_000).toISOString(),
      t: 0,
    },
  });
}
