import type { WebSocket } from 'ws';
import { BoundedMap, BoundedSet } from '../common/bounded-set.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { Problem } from '../common/problem.js';
import { isUnavailable } from '../common/unavailable.js';
import type { AuthenticatedDevice } from '../identity/auth.service.js';
import { inboxMessageView } from '../messages/inbox-message.view.js';
import type { PendingMessage, PendingPage } from '../messages/messages.types.js';
import { followsDirectly, type NoticeNumber } from '../messages/notice-numbers.js';
import {
  clientFrame,
  type ErrorFrame,
  type ExpiredFrame,
  type ReceiptFrame,
  type ServerFrame,
} from './stream-frames.js';

const PAGE = 1000;
// A drain's first read is short, so that a device coming back gets its first
// message after a read of a few rows rather than of a whole page (which took
// most of connect → first message in the catch-up benchmark); the reads after
// it take whole pages.
const FIRST_PAGE = 50;
// Default of StreamLimits.bufferBytes (STREAM_BUFFER_BYTES).
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
// Error frames written to the socket's buffer and not yet taken by the
// kernel: a client that sends bad frames and does not read its answers is
// closed (1008) at this many, instead of growing a queue of them.
export const MAX_UNREAD_ERROR_FRAMES = 16;
// Ack frames being stored at once for one socket: past it the socket is not
// read until one is done, so a client that sends faster than PostgreSQL
// stores waits in TCP instead of in this process's memory.
const MAX_ACKS_IN_FLIGHT = 8;
// An ack that PostgreSQL or Redis refuses for now (no free connection in
// time, a deadlock, a statement cancelled by its timeout) is tried again
// after each of these pauses, and the socket is not read meanwhile: under
// overload a client's acks slow down instead of failing. After the last,
// the client is told to send it again (service_unavailable).
const ACK_RETRY_DELAYS_MS = [50, 200, 500, 1000, 2000, 4000];
// A drain that failed (PostgreSQL refusing work for now) is tried again after
// these pauses while the socket is open: otherwise what it was to send would
// wait for the next notification, which may never come (a fault run found
// messages left unsent that way).
const DRAIN_RETRY_DELAYS_MS = [250, 1000, 2000, 5000, 10_000, 30_000];
// Late commits read by id (rare) are read this many at a time.
const LATE_READ_BATCH = 16;
export const CLOSE_POLICY_VIOLATION = 1008;
// A socket closed by the server that does not answer the close handshake
// (it is not reading) is cut off after this long, with what it still buffers.
const CLOSE_GRACE_MS = 2000;
// Up to this many frames sent and unacked, a drain re-reads from the start.
const REREAD_BELOW = 200;
// Frames sent and not yet acked (id → expiresAtKey), kept to skip sending
// one twice and to hand the ack the whole key of what it acks.
const MAX_REMEMBERED = 20_000;
// Ids acked lately: a notice that comes after its message was sent and acked
// (the common case when a device keeps up) then costs no read.
const MAX_RECENTLY_ACKED = 4_096;

/** What a connection uses of the upgraded TCP socket under its WebSocket. */
export interface FrameTransport {
  readonly writableCorked: number;
  cork(): void;
  uncork(): void;
}

/** A message accepted by this process, with its notice number for this device. */
export interface LiveCopy {
  notice: NoticeNumber;
  message: PendingMessage;
  /** The message's frame for this device (messageFrameTexts), built with its other devices'. */
  frameText: string;
}

export interface StreamDependencies {
  /** The device's last notice number, taken before a read from the start. */
  lastNotice(deviceId: string): Promise<NoticeNumber>;
  /** At most `limit` messages and the configured page bytes; `more` when the page was cut. */
  pendingAfter(deviceId: string, afterSeq: number, limit: number): Promise<PendingPage>;
  pendingByIds(deviceId: string, messageIds: string[]): Promise<PendingMessage[]>;
  /** Stores an ack; a 429 Problem when the device's account is over its ack rate. */
  ack(
    device: AuthenticatedDevice,
    messageIds: string[],
    keys: ReadonlyMap<string, string>,
  ): Promise<number>;
  /** A drain or an ack failed (the client is told, or the message waits for the next read). */
  onError(error: Error, during: 'drain' | 'ack'): void;
  /** The socket closed: its owner forgets the connection. */
  onClosed(connection: StreamConnection): void;
}

export interface StreamLimits {
  /** No frame is written while this many bytes wait to go out on the socket (backpressure). */
  bufferBytes: number;
  /** The pauses before each new try of an ack refused for now (default ACK_RETRY_DELAYS_MS). */
  ackRetryDelaysMs?: readonly number[];
  /** The pauses before each new try of a drain that failed (default DRAIN_RETRY_DELAYS_MS). */
  drainRetryDelaysMs?: readonly number[];
}

/**
 * One device's socket. Frames come from a read of PostgreSQL in acceptance
 * order ("drain"): on open from the start, and after each live notification
 * from the last position read. A notified message that committed late,
 * behind that position, is fetched by id, so it is never skipped.
 *
 * A message accepted by this very process is sent from memory instead, when
 * its notice number directly follows the last one this socket has covered:
 * then every message numbered before it for this device has been sent here
 * already, and nothing older can still be on its way (docs/delivery.md).
 */
export class StreamConnection {
  alive = true;
  private cursor = 0;
  private draining: Promise<void> | undefined;
  private drainAgain = false;
  // Made on first use, as the maps below: an idle socket holds none of them.
  private notified: Set<string> | undefined;
  // The notice number up to which everything was sent or read here; unknown
  // (undefined) until a read from the start, and after a read from the cursor.
  private lastNotice: NoticeNumber | undefined;
  // Made on first use too: an idle socket holds neither.
  private sent: BoundedMap<string, string> | undefined;
  private recentlyAcked: BoundedSet<string> | undefined;
  private unreadErrorFrames = 0;
  private acksInFlight = 0;
  private acksRetrying = 0;
  private drainFailures = 0;
  private drainRetry: NodeJS.Timeout | undefined;
  private framesInFlight: Set<Promise<void>> | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly device: AuthenticatedDevice,
    private readonly dependencies: StreamDependencies,
    private readonly transport?: FrameTransport,
    private readonly limits: StreamLimits = { bufferBytes: HIGH_WATER_BYTES },
  ) {
    // binaryType is 'nodebuffer' (the default): every frame arrives as one Buffer.
    socket.on('message', (data, isBinary) => {
      const handled = this.onFrame(isBinary ? null : (data as Buffer).toString('utf8'));
      const inFlight = (this.framesInFlight ??= new Set());
      inFlight.add(handled);
      void handled.finally(() => inFlight.delete(handled));
    });
    socket.on('pong', () => {
      this.alive = true;
    });
    // Here rather than where the socket is registered: the three listeners
    // share one closure context, which an idle stream keeps as long as it is open.
    socket.on('close', () => this.dependencies.onClosed(this));
  }

  /**
   * An ephemeral message: sent at once, outside the order of stored ones
   * (it has no place in it), and dropped when the socket is not reading,
   * since it is worth nothing late.
   */
  sendEphemeral(frameText: string): void {
    if (this.socket.bufferedAmount > this.limits.bufferBytes || !this.isOpen()) return;
    this.sendText(frameText);
  }

  /** Resolves when the client frames received so far (acks) have been handled. */
  async framesHandled(): Promise<void> {
    await Promise.allSettled([...(this.framesInFlight ?? [])]);
  }

  /** Sends everything pending from the start (on open, and when routing may have missed something). */
  catchUp(): Promise<void> {
    this.cursor = 0;
    return this.drain();
  }

  /** A live message for this device was accepted: send what is new, in order. */
  notify(messageId: string, live?: LiveCopy): void {
    // A second notice (the accepting process's own, then the fan-out's) or a
    // notice after the message went: nothing left to send for it.
    if (this.sentOrAcked(messageId)) return;
    if (live && this.maySendFromMemory(live.notice)) {
      this.lastNotice = live.notice;
      this.cursor = Math.max(this.cursor, live.message.seq);
      this.send(live.message, live.frameText);
      return;
    }
    (this.notified ??= new Set()).add(messageId);
    this.drainOrRetry();
  }

  /** Sends everything pending from the start, trying again while that fails (presence was lost). */
  resync(): void {
    this.cursor = 0;
    this.drainOrRetry();
  }

  private drainOrRetry(): void {
    this.drain().then(
      () => {
        this.drainFailures = 0;
      },
      (error: Error) => {
        this.dependencies.onError(error, 'drain');
        if (this.drainRetry || !this.isOpen()) return;
        const delays = this.limits.drainRetryDelaysMs ?? DRAIN_RETRY_DELAYS_MS;
        const delay = delays[Math.min(this.drainFailures++, delays.length - 1)];
        this.drainRetry = setTimeout(() => {
          this.drainRetry = undefined;
          if (this.isOpen()) this.drainOrRetry();
        }, delay);
        this.drainRetry.unref();
      },
    );
  }

  sendFrame(frame: ServerFrame, written?: () => void): void {
    if (!this.isOpen()) return;
    this.sendText(JSON.stringify(frame), written);
  }

  /** A ServerFrame's JSON text, stringified by sendFrame or messageFrameTexts. */
  private sendText(text: string, written?: () => void): void {
    this.coalesceThisTurn();
    this.socket.send(text, written);
  }

  /**
   * A receipt: advisory (the sender's status call has the same), so it is
   * dropped for a socket that is not reading rather than queued.
   */
  sendReceipt(frame: ReceiptFrame | ExpiredFrame): void {
    if (this.socket.bufferedAmount > this.limits.bufferBytes) return;
    this.sendFrame(frame);
  }

  /** An error frame; a client that leaves too many of them unread is closed (1008). */
  sendError(code: string, detail: string, extra: Pick<ErrorFrame, 'retryAfter'> = {}): void {
    if (!this.isOpen()) return;
    if (this.unreadErrorFrames >= MAX_UNREAD_ERROR_FRAMES) {
      closeSoon(this.socket, CLOSE_POLICY_VIOLATION, 'error_frames_unread');
      return;
    }
    this.unreadErrorFrames++;
    this.sendFrame({ type: 'error', code, detail, ...extra }, () => {
      this.unreadErrorFrames--;
    });
  }

  // The frames of one event-loop turn (a page of a drain, a batch of
  // receipts) leave in one write: on this kind of VM each system call, and
  // the wake-up of the reader it causes, costs more than the frame.
  private coalesceThisTurn(): void {
    const transport = this.transport;
    // Corked already: an earlier frame of this turn has its uncork scheduled.
    if (!transport || transport.writableCorked > 0) return;
    transport.cork();
    process.nextTick(() => transport.uncork());
  }

  isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  // Never during a drain: lastNotice is unknown until its read is done.
  private maySendFromMemory(notice: NoticeNumber): boolean {
    return (
      this.lastNotice !== undefined &&
      followsDirectly(this.lastNotice, notice) &&
      this.isOpen() &&
      this.socket.bufferedAmount <= this.limits.bufferBytes
    );
  }

  /** One drain at a time per socket; a request during one makes it run once more. */
  private drain(): Promise<void> {
    if (this.draining) {
      this.drainAgain = true;
      return this.draining;
    }
    this.draining = this.drainLoop().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async drainLoop(): Promise<void> {
    do {
      this.drainAgain = false;
      const notified = [...(this.notified ?? [])];
      this.notified = undefined;
      // While the device keeps up (few frames unacked), read everything still
      // pending from the start: a message that committed behind the cursor is
      // then sent before anything newer, so one sender's sequential messages
      // never overtake each other. A device far behind pages from the cursor.
      this.lastNotice = undefined; // until this read is done
      let after = (this.sent?.size ?? 0) <= REREAD_BELOW ? 0 : this.cursor;
      // Every number up to this one was taken after its message committed,
      // so before this read began: the read covers them all. A read from the
      // cursor does not (a late commit behind it comes by id, later).
      const covered = after === 0 ? await this.lastNoticeNow() : undefined;
      for (let page = FIRST_PAGE; ; page = PAGE) {
        const { messages, more } = await this.readPage(after, page);
        if (messages.length > 0) after = messages[messages.length - 1].seq;
        // Backpressure before every frame: a socket that does not read holds
        // at most its buffer, one frame past it, and what is left of this page.
        for (const message of messages) {
          if (this.socket.bufferedAmount > this.limits.bufferBytes) await this.drained();
          if (!this.isOpen()) break;
          this.send(message);
          this.cursor = Math.max(this.cursor, message.seq);
        }
        if (!more || !this.isOpen()) break;
        // The next page is read once the socket is under its mark again: it
        // still has that much to write meanwhile, and a socket that stalls
        // holds no second page.
        await this.drained();
      }
      // Notified, yet neither sent nor acked here: committed behind the cursor
      // (a late commit). Whatever of it is still pending goes now, in order.
      const unseen = notified.filter((messageId) => !this.sentOrAcked(messageId));
      // A few at a time: a read by ids has no byte cap of its own.
      for (let start = 0; start < unseen.length && this.isOpen(); start += LATE_READ_BATCH) {
        const ids = unseen.slice(start, start + LATE_READ_BATCH);
        for (const late of await this.dependencies.pendingByIds(this.device.deviceId, ids)) {
          if (this.socket.bufferedAmount > this.limits.bufferBytes) await this.drained();
          this.send(late);
        }
      }
      this.lastNotice = covered;
    } while (this.drainAgain && this.isOpen());
  }

  private async lastNoticeNow(): Promise<NoticeNumber | undefined> {
    try {
      return await this.dependencies.lastNotice(this.device.deviceId);
    } catch {
      return undefined; // Redis cannot say: this socket reads until it can
    }
  }

  private readPage(afterSeq: number, limit: number): Promise<PendingPage> {
    return this.dependencies.pendingAfter(this.device.deviceId, afterSeq, limit);
  }

  private forgetAcked(messageId: string): void {
    this.sent?.delete(messageId);
    (this.recentlyAcked ??= new BoundedSet(MAX_RECENTLY_ACKED)).add(messageId);
  }

  private sentOrAcked(messageId: string): boolean {
    return (this.sent?.has(messageId) ?? false) || (this.recentlyAcked?.has(messageId) ?? false);
  }

  private send(message: PendingMessage, frameText?: string): void {
    // A read that began before an ack committed can still return its message.
    if (this.sentOrAcked(message.messageId)) return;
    if (!this.isOpen()) return;
    (this.sent ??= new BoundedMap(MAX_REMEMBERED)).set(message.messageId, message.expiresAtKey);
    if (frameText === undefined)
      this.sendFrame({ type: 'message', message: inboxMessageView(message) });
    else this.sendText(frameText);
  }

  private async drained(): Promise<void> {
    while (this.isOpen() && this.socket.bufferedAmount > this.limits.bufferBytes) {
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
      this.sendError('malformed_frame', 'Frames are JSON text');
      return;
    }
    const frame = clientFrame.safeParse(parsed);
    if (!frame.success) {
      this.sendError('invalid_frame', frame.error.issues[0]?.message ?? 'invalid frame');
      return;
    }
    this.acksInFlight++;
    if (this.acksInFlight >= MAX_ACKS_IN_FLIGHT) this.socket.pause();
    try {
      const keys = new Map<string, string>();
      for (const messageId of frame.data.messageIds) {
        const key = this.sent?.get(messageId);
        if (key !== undefined) keys.set(messageId, key);
      }
      await this.storeAck(frame.data.messageIds, keys);
      for (const messageId of frame.data.messageIds) this.forgetAcked(messageId);
    } catch (error) {
      if (error instanceof Problem && error.status === 429) {
        this.sendError('rate_limited', 'Too many acks; send this one again later', {
          retryAfter: Number(error.headers['Retry-After']),
        });
      } else {
        this.dependencies.onError(error as Error, 'ack');
        this.sendError('service_unavailable', 'The ack was not stored; send it again');
      }
    } finally {
      this.acksInFlight--;
      if (this.acksInFlight < MAX_ACKS_IN_FLIGHT && this.acksRetrying === 0 && this.socket.isPaused)
        this.socket.resume();
    }
  }

  /** Stores an ack, trying again while a dependency refuses work for now; the socket is not read meanwhile. */
  private async storeAck(messageIds: string[], keys: ReadonlyMap<string, string>): Promise<void> {
    const delays = this.limits.ackRetryDelaysMs ?? ACK_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.dependencies.ack(this.device, messageIds, keys);
        return;
      } catch (error) {
        const refusedForNow =
          isUnavailable(error) || (error instanceof Problem && error.status === 503);
        if (!refusedForNow || attempt >= delays.length) throw error;
      }
      this.acksRetrying++;
      this.socket.pause();
      try {
        await sleep(delays[attempt]);
      } finally {
        this.acksRetrying--;
      }
    }
  }
}

/** Closes with a code; a client that does not answer the close (it does not read) is cut off soon after. */
export function closeSoon(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}
