import { z } from 'zod';
import { uuidString } from '../common/validation.js';
import type { InboxMessage } from '../messages/inbox-message.view.js';

// The frames of GET /v1/stream, both ways. Every frame the server sends is
// one of ServerFrame (the connection's senders take nothing else), and the
// AsyncAPI document (src/api-docs/asyncapi-document.ts) has a schema for
// each of their types, or it does not compile.

/** A message for this device; `ephemeral` ones are never stored, so never acked. */
export interface MessageFrame {
  type: 'message';
  message: InboxMessage;
  ephemeral?: true;
}

/** A device acked a message this account sent. */
export interface ReceiptFrame {
  type: 'receipt';
  messageId: string;
  deviceId: string;
}

/** A message this account sent expired before these devices acked it. */
export interface ExpiredFrame {
  type: 'expired';
  messageId: string;
  deviceIds: string[];
}

/** Something the server could not do; `retryAfter` (seconds) with `rate_limited`. */
export interface ErrorFrame {
  type: 'error';
  code: string;
  detail: string;
  retryAfter?: number;
}

export type ServerFrame = MessageFrame | ReceiptFrame | ExpiredFrame | ErrorFrame;

// Stands for the wrapped key while a message's frame is stringified once.
const WRAPPED_KEY_MARK = '\u0000wrapped-key\u0000';

/**
 * The text of a message's frame (stored or ephemeral) for each device it goes
 * to: the copies differ only in the wrapped key, so the rest is stringified
 * once per message, not once per device (in bench fanout-1000 the sender's
 * answer waits while the accepting process writes the frames of all 1,000
 * devices). A wrapped key is base64, which JSON carries as it is. `frame`'s
 * own wrapped key is not used.
 */
export function messageFrameTexts(frame: MessageFrame): (wrappedKey: string) => string {
  const text = JSON.stringify({
    ...frame,
    message: { ...frame.message, wrappedKey: WRAPPED_KEY_MARK },
  });
  const mark = JSON.stringify(WRAPPED_KEY_MARK);
  const at = text.lastIndexOf(mark); // no field after the key holds free text: dates at most
  const head = text.slice(0, at + 1);
  const tail = text.slice(at + mark.length - 1);
  return (wrappedKey) => head + wrappedKey + tail;
}

/** What a client may send: acks (up to 1,000 ids a frame). */
export const clientFrame = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ack'), messageIds: z.array(uuidString()).min(1).max(1000) }),
]);

export type ClientFrame = z.infer<typeof clientFrame>;
