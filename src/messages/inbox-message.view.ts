import type { PendingMessage } from './messages.types.js';

/** InboxMessage of PROTOCOL.md: the body and the wrapped key addressed to the reading device, base64. */
export function inboxMessageView(message: PendingMessage) {
  return {
    messageId: message.messageId,
    clientMessageId: message.clientMessageId,
    senderAccountId: message.senderAccountId,
    senderDeviceId: message.senderDeviceId,
    conversationId: message.conversationId,
    body: message.body,
    wrappedKey: message.wrappedKey,
    acceptedAt: message.acceptedAt.toISOString(),
    expiresAt: message.expiresAt.toISOString(),
  };
}

export type InboxMessage = ReturnType<typeof inboxMessageView>;
