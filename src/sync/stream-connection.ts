import type { WebSocket } from 'ws';
import { z } from 'zod';
import { uuidString } from '../common/validation.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { inboxMessageView } from '../messages/inbox-message.view.js';
import type { PendingMessage } from '../messages/messages.repository.js';

const CATCH_UP_PAGE = 1000;
// Stop writing while this much is still queued for the socket: a slow reader
// gets backpressure instead of a process-sized buffer.
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
// Ids of frames sent and not yet acked, kept to skip sending one twice.
const MAX_REMEMBERED = 20_000;

const clientFrame = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ack'), messageIds: z.array(uuidString()).min(1).max(1000) }),
]);

export interface StreamDependencies {
  pendingAfter(deviceId: string, afterSeq: number, limit: number): Promise<PendingMessage[]>;
  ack(deviceId: string, messageIds: string[]): Promise<number>;
}

/**
 * One device's socket. On open it sends everything pending, oldest first,
 * then live messages; live messages that arrive during the catch-up wait
 * and go after it, so the backlog keeps its order.
 */
export class StreamConnection {
  alive = true;
  private catchingUp = false;
  private catchUpAgain = false;
  private waitingLive: PendingMessage[] = [];
  private sent: Set<string> | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly device: AuthenticatedDevice,
    private readonly dependencies: StreamDependencies,
  ) {
    // binaryType is 'nodebuffer' (the default): every frame arrives as one Buffer.
    socket.on(
      'message',
      (data, isBinary) => void this.onFrame(isBinary ? null : (data as Buffer).toString('utf8')),
    );
    socket.on('pong', () => {
      this.alive = true;
    });
  }

  /** Sends the backlog from the start (on open, and when routing may have missed something). */
  async catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return;
    }
    this.catchingUp = true;
    try {
      do {
        this.catchUpAgain = false;
        let afterSeq = 0;
        for (;;) {
          const page = await this.dependencies.pendingAfter(
            this.device.deviceId,
            afterSeq,
            CATCH_UP_PAGE,
          );
          for (const message of page) this.send(message);
          if (page.length < CATCH_UP_PAGE || !this.isOpen()) break;
          afterSeq = page[page.length - 1].seq;
          await this.drained();
        }
      } while (this.catchUpAgain && this.isOpen());
    } finally {
      this.catchingUp = false;
    }
    const waiting = this.waitingLive.sort((a, b) => a.seq - b.seq);
    this.waitingLive = [];
    for (const message of waiting) this.send(message);
  }

  /** A live message for this device (already read from PostgreSQL). */
  deliver(message: PendingMessage): void {
    if (this.catchingUp) this.waitingLive.push(message);
    else this.send(message);
  }

  sendFrame(frame: object): void {
    if (this.isOpen()) this.socket.send(JSON.stringify(frame));
  }

  isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  private send(message: PendingMessage): void {
    this.sent ??= new Set();
    if (this.sent.has(message.messageId) || !this.isOpen()) return;
    if (this.sent.size >= MAX_REMEMBERED)
      this.sent.delete(this.sent.values().next().value as string);
    this.sent.add(message.messageId);
    this.sendFrame({ type: 'message', message: inboxMessageView(message) });
  }

  private async drained(): Promise<void> {
    while (this.isOpen() && this.socket.bufferedAmount > HIGH_WATER_BYTES) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Client frames: acks. A bad frame gets an error frame; the socket stays open. */
  private async onFrame(text: string | null): Promise<void> {
    let parsed: unknown;
    try {
      parsed = text === null ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined) {
      this.sendFrame({ type: 'error', code: 'malformed_frame', detail: 'Frames are JSON text' });
      return;
    }
    const frame = clientFrame.safeParse(parsed);
    if (!frame.success) {
      this.sendFrame({
        type: 'error',
        code: 'invalid_frame',
        detail: frame.error.issues[0]?.message ?? 'invalid frame',
      });
      return;
    }
    try {
      await this.dependencies.ack(this.device.deviceId, frame.data.messageIds);
      for (const messageId of frame.data.messageIds) this.sent?.delete(messageId);
    } catch {
      this.sendFrame({
        type: 'error',
        code: 'service_unavailable',
        detail: 'The ack was not stored; send it again',
      });
    }
  }
}
