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
  /**
   * Delivered only to the devices whose stream is open right now, never
   * stored, pushed or listed in an inbox: typing indicators, call signalling.
   * The answer's `liveDevices` says how many got it.
   */
  ephemeral?: boolean;
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
  /** Ephemeral sends only: how many devices had a stream open and got it. */
  liveDevices?: number;
  /** Devices it was not stored for: their queue is full (`queue_full`). */
  undelivered?: { deviceId: string; reason: 'queue_full' }[];
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
  /** Sent ephemeral: delivered to open streams only, never stored (and not acked). */
  ephemeral?: true;
}

export interface MessageStatus {
  devices: number;
  delivered: number;
  pending: number;
  deliveredDevices: { deviceId: string; ackedAt: string }[];
  pendingDevices: string[];
  /** Devices it will never reach, and why (revoked, unlinked for being idle, account deleted). */
  undelivered: {
    deviceId: string;
    reason: 'device_revoked' | 'device_idle' | 'account_deleted' | 'queue_full';
  }[];
  /** Past its expiry: the devices that never acked it (the status answers for a week after). */
  expired?: string[];
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

/** `GET /v1/calls/turn`: credentials for the TURN servers (RTCIceServer-shaped, plus their lifetime). */
export interface TurnCredentials {
  urls: string[];
  username: string;
  credential: string;
  ttlSeconds: number;
}

/** A WebRTC session description, as RTCSessionDescriptionInit gives it. */
export interface SessionDescription {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  sdp?: string;
}

/**
 * Call signalling, the content of messages between the parties' devices
 * (end-to-end encrypted like any other). The invite is an urgent stored
 * send (it rings sleeping devices and waits up to its ttl); the rest are
 * ephemeral (only devices in the call, with a stream open, need them).
 */
export type CallSignal =
  | { type: 'call-invite'; callId: string; media: 'audio' | 'video'; offer: SessionDescription }
  | { type: 'call-answer'; callId: string; answer: SessionDescription }
  | {
      type: 'call-candidate';
      callId: string;
      candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null };
    }
  | { type: 'call-hangup'; callId: string; reason?: 'ended' | 'declined' | 'busy' | 'failed' };

/** A typing indicator (ephemeral). */
export interface TypingSignal {
  type: 'typing';
  typing: boolean;
}

/** The text of a message's content: `text` of a {"type":"text"} message, else the JSON itself. */
export function messageText(content: unknown): string {
  const message = content as { type?: unknown; text?: unknown } | null;
  return message?.type === 'text' && typeof message.text === 'string'
    ? message.text
    : JSON.stringify(content);
}
