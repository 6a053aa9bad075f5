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

/** What a client may send: acks (up to 1,000 ids a frame). */
export const clientFrame = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ack'), messageIds: z.array(uuidString()).min(1).max(1000) }),
]);

export type ClientFrame = z.infer<typeof clientFrame>;
