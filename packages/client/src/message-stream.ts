import {
  openStreamSocket,
  SOCKET_CLOSED,
  SOCKET_OPEN,
  type StreamSocket,
} from './stream-socket.js';
import type { InboxMessage, ReceivedMessage } from './types.js';

export interface Receipt {
  messageId: string;
  /** The recipient device that acked. */
  deviceId: string;
}

export interface ExpiredNotice {
  messageId: string;
  /** The recipient devices that never got it. */
  deviceIds: string[];
}

export interface StreamHandlers {
  /** Called once per message (deduped by id), in arrival order; the message is acked after it returns. */
  onMessage(message: ReceivedMessage): Promise<void> | void;
  onReceipt?(receipt: Receipt): void;
  /** A message this account sent expired before these devices acked it (they never will). */
  onExpired?(notice: ExpiredNotice): void;
  /** A handler or decryption failure (the message is not acked, so it comes again), or a server error frame. */
  onError?(error: Error): void;
  /** Every (re)connection, after the socket opens. */
  onConnect?(): void;
  /**
   * A message handled before came again (a reconnect after its ack was lost,
   * a redelivery): acked again and not handed to onMessage. For counting.
   */
  onDuplicate?(messageId: string): void;
}

export interface StreamOptions {
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** How long acks are gathered into one frame. */
  ackDelayMs?: number;
  /**
   * Node only: passed to the `ws` socket (e.g. an `agent` for a proxy, `ca`,
   * `localAddress`). Browsers open their own WebSocket and ignore it.
   */
  socketOptions?: Record<string, unknown>;
}

/** What the stream needs from its client: a token, a URL, and decryption. */
export interface StreamHost {
  streamUrl(): string;
  freshToken(forceLogin: boolean): Promise<string>;
  decrypt(message: InboxMessage): Promise<ReceivedMessage>;
}

const CLOSE_TOKEN_INVALID = 4401;
const CLOSE_REVOKED = 4403;
const CLOSE_REPLACED = 4409;
const CLOSE_RATE_LIMITED = 4429;
const REMEMBERED_IDS = 10_000;

/**
 * A live connection to /v1/stream that reconnects with exponential backoff
 * and resumes (the server resends whatever is not acked), dedupes by message
 * id, decrypts, calls the handler in order and acks after it succeeds.
 */
export class MessageStream {
  private socket: StreamSocket | undefined;
  private closedByUser = false;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly handled = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private pendingAcks: string[] = [];
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private forceLogin = false;
  // From the server's rate_limited error frame: the least wait before the next connect.
  private retryAfterMs = 0;
  private readonly options: Required<Omit<StreamOptions, 'socketOptions'>> & StreamOptions;
  /** Set when the server revoked this device: the stream stops for good. */
  revoked = false;

  constructor(
    private readonly host: StreamHost,
    private readonly handlers: StreamHandlers,
    options: StreamOptions = {},
  ) {
    this.options = {
      minReconnectDelayMs: 100,
      maxReconnectDelayMs: 10_000,
      ackDelayMs: 5,
      ...options,
    };
  }

  /**
   * Opens the first connection; resolves once it is open. If that one fails,
   * it rejects and the stream stops: reconnecting is for connections lost later.
   */
  async open(): Promise<void> {
    try {
      await this.connect();
    } catch (error) {
      this.closedByUser = true;
      clearTimeout(this.reconnectTimer);
      throw error;
    }
  }

  get isOpen(): boolean {
    return this.socket?.readyState === SOCKET_OPEN;
  }

  /** Closes for good (no reconnect), after sending the acks gathered so far. */
  async close(): Promise<void> {
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    await this.chain;
    this.flushAcks();
    const socket = this.socket;
    if (!socket || socket.readyState === SOCKET_CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.addEventListener('close', () => resolve(), { once: true });
      socket.close(1000);
    });
  }

  /** Drops the connection as a network failure would (it reconnects by itself); for tests and demos. */
  dropConnection(): void {
    const socket = this.socket;
    if (!socket) return;
    // A browser cannot cut a socket without a close frame; 4000 is "gone", not a user's close.
    if (socket.terminate) socket.terminate();
    else socket.close(4000);
  }

  private async connect(): Promise<void> {
    const token = await this.host.freshToken(this.forceLogin);
    this.forceLogin = false;
    const socket = await openStreamSocket(this.host.streamUrl(), token, this.options.socketOptions);
    this.socket = socket;
    socket.addEventListener('message', (event) => this.onFrame(String(event.data)));
    socket.addEventListener('close', (event) => this.onClose(event.code));
    socket.addEventListener('error', () => undefined); // 'close' follows and decides
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener(
        'open',
        () => {
          this.attempts = 0;
          this.handlers.onConnect?.();
          resolve();
        },
        { once: true },
      );
      socket.addEventListener(
        'close',
        (event) => reject(new Error(`stream closed before opening (${event.code})`)),
        { once: true },
      );
    });
  }

  private onClose(code: number): void {
    if (this.closedByUser) return;
    if (code === CLOSE_REVOKED) {
      this.revoked = true;
      this.handlers.onError?.(new Error('this device was revoked'));
      return;
    }
    if (code === CLOSE_REPLACED) {
      // This device opened more streams than the server keeps: a newer one holds its place.
      this.handlers.onError?.(new Error('a newer stream of this device replaced this one'));
      return;
    }
    if (code === CLOSE_TOKEN_INVALID) this.forceLogin = true;
    const delay = Math.min(
      this.options.maxReconnectDelayMs,
      this.options.minReconnectDelayMs * 2 ** this.attempts++,
    );
    let jittered = delay / 2 + Math.random() * (delay / 2);
    if (code === CLOSE_RATE_LIMITED) jittered = Math.max(jittered, this.retryAfterMs);
    this.retryAfterMs = 0;
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch(() => undefined); // a failed attempt closes, which schedules the next
    }, jittered);
  }

  private onFrame(text: string): void {
    let frame: {
      type?: string;
      ephemeral?: boolean;
      message?: InboxMessage;
      messageId?: string;
      deviceId?: string;
      deviceIds?: string[];
      code?: string;
      detail?: string;
      retryAfter?: number;
    };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return;
    }
    if (frame.type === 'message' && frame.message && frame.ephemeral === true) {
      const message = frame.message;
      this.chain = this.chain.then(() => this.handleEphemeral(message));
    } else if (frame.type === 'message' && frame.message) {
      const message = frame.message;
      // Handled in arrival order, one at a time.
      this.chain = this.chain.then(() => this.handle(message));
    } else if (frame.type === 'expired' && frame.messageId && Array.isArray(frame.deviceIds)) {
      this.handlers.onExpired?.({ messageId: frame.messageId, deviceIds: frame.deviceIds });
    } else if (frame.type === 'receipt' && frame.messageId && frame.deviceId) {
      this.handlers.onReceipt?.({ messageId: frame.messageId, deviceId: frame.deviceId });
    } else if (frame.type === 'error') {
      if (frame.code === 'rate_limited' && typeof frame.retryAfter === 'number')
        this.retryAfterMs = frame.retryAfter * 1000;
      this.handlers.onError?.(new Error(`server: ${frame.code}: ${frame.detail}`));
    }
  }

  private async handle(message: InboxMessage): Promise<void> {
    if (this.handled.has(message.messageId)) {
      this.queueAck(message.messageId); // seen before a crash or reconnect: ack again, never handle twice
      this.handlers.onDuplicate?.(message.messageId);
      return;
    }
    try {
      await this.handlers.onMessage(await this.host.decrypt(message));
    } catch (error) {
      this.handlers.onError?.(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.remember(message.messageId);
    this.queueAck(message.messageId);
  }

  /** Not stored on the server, so nothing to ack; a retried send can still come twice. */
  private async handleEphemeral(message: InboxMessage): Promise<void> {
    if (this.handled.has(message.messageId)) return;
    try {
      await this.handlers.onMessage({ ...(await this.host.decrypt(message)), ephemeral: true });
    } catch (error) {
      this.handlers.onError?.(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.remember(message.messageId);
  }

  private remember(messageId: string): void {
    if (this.handled.size >= REMEMBERED_IDS)
      this.handled.delete(this.handled.values().next().value as string);
    this.handled.add(messageId);
  }

  private queueAck(messageId: string): void {
    this.pendingAcks.push(messageId);
    if (this.pendingAcks.length >= 500) this.flushAcks();
    else this.ackTimer ??= setTimeout(() => this.flushAcks(), this.options.ackDelayMs);
  }

  private flushAcks(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length === 0 || this.socket?.readyState !== SOCKET_OPEN) return;
    for (let start = 0; start < this.pendingAcks.length; start += 1000) {
      this.socket.send(
        JSON.stringify({ type: 'ack', messageIds: this.pendingAcks.slice(start, start + 1000) }),
      );
    }
    this.pendingAcks = [];
  }
}
