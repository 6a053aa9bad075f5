import type { AuthenticatedDevice } from '../identity/auth.service.js';
import type { SendMessageDto } from './dto/messages.dto.js';
import type { PendingMessage, StoredMessage } from './messages.types.js';

/** Builds, for one device at a time, the message as a read of its inbox would return it. */
export function copyOf(
  sender: AuthenticatedDevice,
  request: SendMessageDto,
  stored: StoredMessage,
): (deviceId: string) => PendingMessage {
  const body = request.body.toString('base64');
  const wrappedKeys = new Map(request.keys.map((key) => [key.deviceId, key.wrappedKey]));
  return (deviceId) => ({
    seq: stored.seq,
    messageId: stored.messageId,
    clientMessageId: request.clientMessageId,
    senderAccountId: sender.accountId,
    senderDeviceId: sender.deviceId,
    conversationId: 'conversationId' in request.to ? request.to.conversationId : null,
    body,
    wrappedKey: (wrappedKeys.get(deviceId) ?? Buffer.alloc(0)).toString('base64'),
    acceptedAt: stored.acceptedAt,
    expiresAt: stored.expiresAt,
    expiresAtKey: stored.expiresAtKey,
  });
}
