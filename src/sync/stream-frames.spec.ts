import fc from 'fast-check';
import { inboxMessageView } from '../messages/inbox-message.view.js';
import type { PendingMessage } from '../messages/messages.types.js';
import { type MessageFrame, messageFrameTexts } from './stream-frames.js';

const pendingMessage = fc.record({
  seq: fc.nat(),
  messageId: fc.uuid(),
  // Any text, even what JSON must escape or the placeholder itself: the
  // texts must still be the frame's own stringification.
  clientMessageId: fc.oneof(fc.string(), fc.constant('\u0000wrapped-key\u0000')),
  senderAccountId: fc.uuid(),
  senderDeviceId: fc.string(),
  conversationId: fc.option(fc.uuid(), { nil: null }),
  body: fc.string(),
  wrappedKey: fc.base64String(),
  acceptedAt: fc.date({ noInvalidDate: true }),
  expiresAt: fc.date({ noInvalidDate: true }),
  expiresAtKey: fc.string(),
}) satisfies fc.Arbitrary<PendingMessage>;

describe('messageFrameTexts', () => {
  it('gives each device the text JSON.stringify makes of its own frame, stored or ephemeral', () => {
    fc.assert(
      fc.property(
        pendingMessage,
        fc.boolean(),
        fc.array(fc.base64String(), { maxLength: 4 }),
        (message, ephemeral, keys) => {
          const frameOf = (wrappedKey: string): MessageFrame => ({
            type: 'message',
            ...(ephemeral ? { ephemeral: true as const } : {}),
            message: inboxMessageView({ ...message, wrappedKey }),
          });
          const frameText = messageFrameTexts(frameOf(message.wrappedKey));
          for (const wrappedKey of [message.wrappedKey, ...keys]) {
            expect(frameText(wrappedKey)).toBe(JSON.stringify(frameOf(wrappedKey)));
          }
        },
      ),
    );
  });
});
