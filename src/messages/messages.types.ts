// What other modules see of stored messages (sync, retention): kept apart
// from the repositories, so a caller depends on what a message is, not on
// how it is read.

export interface AcceptedMessage {
  messageId: string;
  acceptedAt: Date;
  expiresAt: Date;
  /** Devices it was not stored for (their queue is full). */
  undelivered?: { deviceId: string; reason: 'queue_full' }[];
}

/** A message just inserted: the sender's answer, and what a live frame needs besides. */
export interface StoredMessage extends AcceptedMessage {
  seq: number;
  expiresAtKey: string;
}

export interface PendingMessage {
  seq: number;
  messageId: string;
  clientMessageId: string;
  senderAccountId: string;
  senderDeviceId: string;
  conversationId: string | null;
  /** Base64, as the wire carries it. */
  body: string;
  /** Base64, as the wire carries it. */
  wrappedKey: string;
  acceptedAt: Date;
  expiresAt: Date;
  /**
   * expires_at exactly as PostgreSQL holds it (a Date drops its
   * microseconds): with the id, the whole key of the message, which lets an
   * ack go straight to its partition. Never sent to clients.
   */
  expiresAtKey: string;
}

/** One read of a device's pending messages; `more` when others wait after it. */
export interface PendingPage {
  messages: PendingMessage[];
  more: boolean;
}

export interface AckedMessage {
  messageId: string;
  senderAccountId: string;
}

/** A daily partition the purge dropped. */
export interface DroppedPartition {
  name: string;
  bytes: number;
  /** For a partition of `messages`: how many messages it held. */
  messages?: number;
}

/** A message that expired before some of its devices acked it. */
export interface ExpiredUnread {
  messageId: string;
  senderAccountId: string;
  /** The devices that never acked it. */
  deviceIds: string[];
}

/** Why a device will never get a message it was addressed to. */
export type UndeliveredReason = 'device_revoked' | 'device_idle' | 'account_deleted' | 'queue_full';

/** One batch of the expiry record (ExpiryRecordsRepository.recordBatch). */
export interface ExpiryBatch {
  /** Expired messages the batch went past. */
  messages: number;
  /** Of those, the ones some device never acked (recorded for their senders). */
  recorded: number;
  /** Whether the batch was full (more may follow before the cutoff). */
  more: boolean;
  /** Expired deliveries per device: what comes off each device's queue count. */
  released: { deviceId: string; count: number }[];
}
