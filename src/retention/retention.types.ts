import type { DroppedPartition } from '../messages/messages.types.js';

/** What one purge run of expired messages did (the purge log records it). */
export interface PurgeResult {
  /** Days whose partitions were created (null: a table lock was not had in time). */
  createdDays: number | null;
  /** Daily partitions dropped whole (each of the four tables counts one). */
  droppedPartitions: number;
  /** The partitions dropped: names, sizes, messages held. */
  partitions: DroppedPartition[];
  /** Expired messages deleted row by row (from today's and the DEFAULT partitions). */
  deletedMessages: number;
  /** The ciphertext bytes of those. */
  deletedBytes: number;
  /** The earliest expiry of a message still stored after the run. */
  oldestExpiryLeft: Date | null;
  /** Copies kept of expired messages of accounts under a legal hold, before they went. */
  heldCopies: number;
  /** Messages that expired with devices that never acked them, recorded by this run (the recorder's schedule usually has). */
  expiredUnread: number;
  /** False when expired messages were left unrecorded (and so kept) for the next run. */
  recordComplete: boolean;
  /** The days whose at-rest keys were destroyed (YYYY-MM-DD): their rows are unreadable anywhere. */
  dayKeysDestroyed: string[];
  /** How long each step took, for the log and the benchmark. */
  stepMs: Record<'record' | 'ensure' | 'held' | 'keys' | 'drop' | 'delete' | 'oldest', number>;
}

export interface SideRowPurgeResult {
  deletedRows: number;
  /** False when the run stopped at its time budget with expired rows left. */
  complete: boolean;
}

/** What one run of the expiry record did. */
export interface ExpiryRecordResult {
  /** Expired messages it went past. */
  messages: number;
  /** Of those, the ones some device never acked. */
  expiredUnread: number;
  /** False when the run's time budget ran out with more expired than recorded. */
  complete: boolean;
}
