import type { PublicDeviceKeys } from './crypto.js';

export interface CreatedDevice {
  accountId: string;
  deviceId: string;
}

export interface DeviceSummary {
  deviceId: string;
  name: string;
  createdAt: string;
  lastSeenAt: string | null;
}

export interface DirectoryDevice extends PublicDeviceKeys {
  deviceId: string;
  /**
   * Whether a live connection holds the device now: shown only to the account
   * itself and to accounts sharing a conversation with it; null otherwise, or
   * when the server cannot tell.
   */
  online?: boolean | null;
}

export interface DirectoryEntry {
  accountId: string;
  handle: string;
  devices: DirectoryDevice[];
}

/** Where a message goes: every device of an account, or of a conversation's members. */
export type Recipient = { accountId: string } | { conversationId: string };

export interface SendOptions {
  /** Defaults to a fresh UUID; reuse it to retry a send safely. */
  clientMessageId?: string;
  ttlSeconds?: number;
  /**
   * Rings sleeping devices at once (a high-urgency push, never throttled):
   * for call invitations and the like. Needs ttlSeconds of at most 120.
   */
  urgent?: boolean;
}

/** A Web Push subscription as the browser's `PushSubscription.toJSON()` gives it (base64url keys). */
export interface WebPushSubscription {
  endpoint: string;
  expirationTime?: number | null;
  keys: { p256dh: string; auth: string };
}

/** What a wake-up push says, once opened: never who sent what. */
export interface PushNotice {
  v: 1;
  /** `call` for an urgent send, `message` otherwise. */
  kind: 'message' | 'call';
  /** How many messages wait for this device. */
  pending: number;
}

export interface Accepted {
  messageId: string;
  clientMessageId: string;
  acceptedAt: string;
  expiresAt: string;
}

/** A message as the server holds it for this device (PROTOCOL.md InboxMessage). */
export interface InboxMessage {
  messageId: string;
  clientMessageId: string;
  senderAccountId: string;
  senderDeviceId: string;
  conversationId: string | null;
  body: string;
  wrappedKey: string;
  acceptedAt: string;
  expiresAt: string;
}

/** A decrypted message. `content` is the sender's JSON (e.g. {"type":"text","text":"hi"}). */
export interface ReceivedMessage {
  messageId: string;
  clientMessageId: string;
  senderAccountId: string;
  senderDeviceId: string;
  conversationId: string | null;
  acceptedAt: string;
  expiresAt: string;
  content: unknown;
}

export interface MessageStatus {
  devices: number;
  delivered: number;
  pending: number;
  deliveredDevices: { deviceId: string; ackedAt: string }[];
  pendingDevices: string[];
}

export interface Conversation {
  conversationId: string;
  title: string | null;
  members: { accountId: string; role: 'owner' | 'member' }[];
}

/** A page of `GET /v1/conversations`; `next` is the `after` of the following page. */
export interface ConversationPage {
  conversations: { conversationId: string; title: string | null }[];
  next: string | null;
}
