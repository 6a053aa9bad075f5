import { describeError } from '../common/describe-error.js';
import { Injectable, Logger } from '@nestjs/common';
import { AfterCommitWork } from '../common/after-commit.js';
import type { AckedMessage, PendingMessage } from './messages.types.js';
import type { NoticeNumber } from './notice-numbers.js';

/** A message just stored, and the devices it was addressed to. */
export interface AcceptedEvent {
  messageId: string;
  deviceIds: string[];
  /** For an urgent message: its expiry (sleeping devices get a high-urgency push until then). */
  urgentUntil?: string;
  /** Each device's notice number, in the order of deviceIds; absent when they could not be taken. */
  notices?: NoticeNumber[];
  /**
   * The message as one device reads it, built from what the accepting process
   * holds in memory; absent when this send did not store it (a retry).
   */
  copyFor?: (deviceId: string) => PendingMessage;
  /** The HTTP request that sent it (log lines of its fan-out and frames). */
  requestId?: string;
}

type AcceptedListener = (accepted: AcceptedEvent) => void | Promise<void>;
type AckedListener = (deviceId: string, acked: AckedMessage[]) => Promise<void>;

/**
 * What happened to messages, for the modules that act on it (fan-out,
 * receipts) without messages knowing them. Listeners run after the commit;
 * a failing listener is logged and never undoes or fails the send or ack —
 * the reconciler covers a fan-out that was not enqueued.
 */
@Injectable()
export class MessageEvents {
  private readonly logger = new Logger(MessageEvents.name);
  private readonly acceptedListeners: AcceptedListener[] = [];
  private readonly ackedListeners: AckedListener[] = [];

  constructor(private readonly afterCommit: AfterCommitWork) {}

  onAccepted(listener: AcceptedListener): void {
    this.acceptedListeners.push(listener);
  }

  onAcked(listener: AckedListener): void {
    this.ackedListeners.push(listener);
  }

  emitAccepted(accepted: AcceptedEvent): void {
    for (const listener of this.acceptedListeners) {
      // Called at once (a listener may send frames before the sender's answer goes).
      this.afterCommit
        .track(new Promise<void>((resolve) => resolve(listener(accepted))))
        .catch((error: Error) =>
          this.logger.warn({ error: describeError(error) }, 'accepted listener failed'),
        );
    }
  }

  emitAcked(deviceId: string, acked: AckedMessage[]): void {
    if (acked.length === 0) return;
    for (const listener of this.ackedListeners) {
      this.afterCommit
        .track(listener(deviceId, acked))
        .catch((error: Error) =>
          this.logger.warn({ error: describeError(error) }, 'acked listener failed'),
        );
    }
  }
}
