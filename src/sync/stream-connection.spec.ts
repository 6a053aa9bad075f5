import { EventEmitter } from 'node:events';
import { inboxMessageView } from '../messages/inbox-message.view.js';
import type { PendingMessage } from '../messages/messages.types.js';
import type { NoticeNumber } from '../messages/notice-numbers.js';
import { Problem } from '../common/problem.js';
import { waitFor } from '../../test/support/wait.js';
import {
  CLOSE_POLICY_VIOLATION,
  type LiveCopy,
  MAX_UNREAD_ERROR_FRAMES,
  StreamConnection,
  type StreamDependencies,
} from './stream-connection.js';
import { messageFrameTexts } from './stream-frames.js';

// The ordering logic of one socket, against an in-memory inbox. The real
// PostgreSQL and Redis paths are covered end to end in test/e2e/live-delivery.

/**
 * The TCP socket under the WebSocket, as node:net corks it: writes made while
 * corked leave together at the last uncork. `writes` holds the frame count
 * of each write that reached the kernel.
 */
class FakeTransport {
  readonly writes: number[] = [];
  private corks = 0;
  private held = 0;
  get writableCorked(): number {
    return this.corks;
  }
  cork(): void {
    this.corks++;
  }
  uncork(): void {
    if (this.corks > 0 && --this.corks === 0 && this.held > 0) this.flush();
  }
  write(): void {
    this.held++;
    if (this.corks === 0) this.flush();
  }
  private flush(): void {
    this.writes.push(this.held);
    this.held = 0;
  }
}

interface Frame {
  type: string;
  message?: { messageId: string };
  code?: string;
  retryAfter?: number;
}

/**
 * Just what StreamConnection uses of a ws socket: it records the frames it
 * was sent. `reading` false: write callbacks wait (the client does not read)
 * and every frame adds `frameBytes` to bufferedAmount.
 */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  reading = true;
  frameBytes = 0;
  isPaused = false;
  closedWith: number | undefined;
  readonly frames: Frame[] = [];
  private readonly unwritten: (() => void)[] = [];
  constructor(readonly transport = new FakeTransport()) {
    super();
  }
  get sentIds(): string[] {
    return this.frames.flatMap((frame) => (frame.message ? [frame.message.messageId] : []));
  }
  send(data: string, written?: () => void): void {
    this.frames.push(JSON.parse(data) as Frame);
    this.transport.write();
    if (this.reading) written?.();
    else {
      this.bufferedAmount += this.frameBytes;
      if (written) this.unwritten.push(written);
    }
  }
  /** The client reads everything buffered. */
  readAll(): void {
    this.bufferedAmount = 0;
    for (const written of this.unwritten.splice(0)) written();
  }
  close(code: number): void {
    this.closedWith = code;
    this.readyState = 2;
  }
  terminate(): void {
    this.readyState = 3;
  }
  pause(): void {
    this.isPaused = true;
  }
  resume(): void {
    this.isPaused = false;
  }
  /** A text frame from the client. */
  receive(text: string): void {
    this.emit('message', Buffer.from(text), false);
  }
}

function message(seq: number): PendingMessage {
  return {
    seq,
    messageId: `m${seq}`,
    clientMessageId: `c${seq}`,
    senderAccountId: 'sender',
    senderDeviceId: 'sender-device',
    conversationId: null,
    body: 'Ym9keQ==',
    wrappedKey: 'a2V5',
    acceptedAt: new Date(0),
    expiresAt: new Date(86_400_000),
    expiresAtKey: '1970-01-02 00:00:00+00',
  };
}

/** The device's pending messages and its notice counter, as PostgreSQL and Redis would hold them. */
class FakeInbox implements StreamDependencies {
  pending: PendingMessage[] = [];
  last: NoticeNumber = { epoch: 'e', n: 0 };
  reads = 0;
  /** Ciphertext bytes a page may hold (PAGE_MAX_BYTES); each message counts as 1. */
  pageBytes = Number.POSITIVE_INFINITY;
  ackError: Error | undefined;
  /** Thrown by the next acks, one each, before ackError. */
  ackErrors: Error[] = [];
  acks = 0;
  /** Set to record what the stream reports instead of failing the test. */
  reported: { error: Error; during: string }[] | undefined;
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => undefined;

  /** Reads wait until release() is called. */
  holdReads(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }
  release(): void {
    this.openGate();
  }

  /** A message committed and numbered for the device (its notice may still be on its way). */
  accept(seq: number): LiveCopy {
    const accepted = message(seq);
    this.pending.push(accepted);
    this.pending.sort((a, b) => a.seq - b.seq);
    this.last = { epoch: this.last.epoch, n: this.last.n + 1 };
    const frame = { type: 'message' as const, message: inboxMessageView(accepted) };
    const frameText = messageFrameTexts(frame)(accepted.wrappedKey);
    return { message: accepted, notice: this.last, frameText };
  }

  lastNotice = (): Promise<NoticeNumber> => Promise.resolve(this.last);
  /** Thrown by the next reads, one each (PostgreSQL refusing work for now). */
  readErrors: Error[] = [];
  /** The row count each read asked for, in order. */
  readLimits: number[] = [];
  pendingAfter = async (_deviceId: string, afterSeq: number, limit: number) => {
    this.reads++;
    this.readLimits.push(limit);
    await this.gate;
    const error = this.readErrors.shift();
    if (error) throw error;
    const after = this.pending.filter((pending) => pending.seq > afterSeq);
    const messages = after.slice(0, Math.min(limit, this.pageBytes));
    return { messages, more: after.length > messages.length };
  };
  pendingByIds = (_deviceId: string, ids: string[]) =>
    Promise.resolve(this.pending.filter((pending) => ids.includes(pending.messageId)));
  ack = () => {
    this.acks++;
    const error = this.ackErrors.shift() ?? this.ackError;
    return error ? Promise.reject(error) : Promise.resolve(0);
  };
  onError = (error: Error, during: string) => {
    if (!this.reported) throw error;
    this.reported.push({ error, during });
  };
  onClosed = () => undefined;
}

function open(
  inbox: FakeInbox,
  socket = new FakeSocket(),
  ackRetryDelaysMs?: number[],
  drainRetryDelaysMs?: number[],
): { socket: FakeSocket; stream: StreamConnection } {
  const device = { deviceId: 'device', accountId: 'account' } as never;
  return {
    socket,
    stream: new StreamConnection(socket as never, device, inbox, socket.transport, {
      bufferBytes: 1000,
      ackRetryDelaysMs,
      drainRetryDelaysMs,
    }),
  };
}

async function connected(inbox: FakeInbox): Promise<ReturnType<typeof open>> {
  const opened = open(inbox);
  await opened.stream.catchUp();
  return opened;
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('StreamConnection', () => {
  it('sends a message accepted here from memory, without a read, when its number comes next', async () => {
    const inbox = new FakeInbox();
    inbox.accept(1);
    const { socket, stream } = await connected(inbox);
    const readsAfterOpen = inbox.reads;

    const next = inbox.accept(2);
    stream.notify(next.message.messageId, next);

    expect(socket.sentIds).toEqual(['m1', 'm2']); // at once, synchronously
    await settled();
    expect(inbox.reads).toBe(readsAfterOpen);
  });

  it('reads instead when a number is missing, so an older message still on its way goes first', async () => {
    const inbox = new FakeInbox();
    const { socket, stream } = await connected(inbox);
    // m1 was accepted by another process: committed and numbered, its notice not here yet.
    inbox.accept(1);
    const local = inbox.accept(2);

    stream.notify(local.message.messageId, local);
    expect(socket.sentIds).toEqual([]);
    await settled();
    expect(socket.sentIds).toEqual(['m1', 'm2']);

    // The read covered both numbers: the next one comes from memory again.
    const next = inbox.accept(3);
    stream.notify(next.message.messageId, next);
    expect(socket.sentIds).toEqual(['m1', 'm2', 'm3']);
  });

  it('waits for a read under way, which may be about to send older messages', async () => {
    const inbox = new FakeInbox();
    inbox.accept(1);
    inbox.holdReads();
    const { socket, stream } = open(inbox);
    const opening = stream.catchUp();
    await settled();
    const next = inbox.accept(2);
    stream.notify(next.message.messageId, next);
    expect(socket.sentIds).toEqual([]);

    inbox.release();
    await opening;
    await settled();
    expect(socket.sentIds).toEqual(['m1', 'm2']);
  });

  it('reads when the counter began again (Redis lost it): a number of another epoch proves nothing', async () => {
    const inbox = new FakeInbox();
    inbox.last = { epoch: 'old', n: 5 };
    const { socket, stream } = await connected(inbox); // everything up to old:5 covered
    inbox.last = { epoch: 'new', n: 0 }; // flushed: the counter starts again
    for (let seq = 1; seq <= 5; seq++) inbox.accept(seq); // notices still on their way
    const local = inbox.accept(6); // new:6, which would follow old:5 by its n alone

    stream.notify(local.message.messageId, local);
    expect(socket.sentIds).toEqual([]);
    await settled();
    expect(socket.sentIds).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  });

  it('writes the frames of one turn together: a page of a drain is one write, not one per frame', async () => {
    const inbox = new FakeInbox();
    for (let seq = 1; seq <= 5; seq++) inbox.accept(seq);
    const { socket } = await connected(inbox);
    await settled();
    expect(socket.sentIds).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(socket.transport.writes).toEqual([5]);

    // A live message on its own still leaves at once, after the turn that sent it.
    const liveInbox = new FakeInbox();
    const { socket: live, stream } = await connected(liveInbox);
    const next = liveInbox.accept(6);
    stream.notify(next.message.messageId, next);
    await settled();
    expect([live.sentIds, live.transport.writes]).toEqual([['m6'], [1]]);
  });

  it('reads a backlog’s first frames in a short page, then the rest in whole pages', async () => {
    const inbox = new FakeInbox();
    for (let seq = 1; seq <= 1200; seq++) inbox.accept(seq);
    const { socket } = await connected(inbox);
    await settled();
    expect(socket.sentIds).toEqual(Array.from({ length: 1200 }, (_, index) => `m${index + 1}`));
    // The first frame waits for a read of a few rows, not of a whole page.
    expect(inbox.readLimits[0]).toBeLessThanOrEqual(50);
    expect(inbox.readLimits.slice(1)).toEqual([1000, 1000]);
  });

  it('ignores a second notice of a message it already sent', async () => {
    const inbox = new FakeInbox();
    const { socket, stream } = await connected(inbox);
    const local = inbox.accept(1);
    stream.notify(local.message.messageId, local);
    const reads = inbox.reads;
    stream.notify(local.message.messageId); // the fan-out's notice, later
    await settled();
    expect([socket.sentIds, inbox.reads]).toEqual([['m1'], reads]);
  });

  it('checks backpressure before every frame: a socket that does not read gets one frame past its buffer', async () => {
    const inbox = new FakeInbox();
    for (let seq = 1; seq <= 5; seq++) inbox.accept(seq);
    const socket = new FakeSocket();
    socket.reading = false;
    socket.frameBytes = 600; // the buffer of 1000 bytes is over after two frames
    const { stream } = open(inbox, socket);
    const opening = stream.catchUp();
    await settled();
    expect(socket.sentIds).toEqual(['m1', 'm2']);

    socket.readAll();
    await settled();
    expect(socket.sentIds).toEqual(['m1', 'm2', 'm3', 'm4']);
    socket.reading = true;
    socket.readAll();
    await opening;
    expect(socket.sentIds).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('reads on after a page cut by its byte cap, though it holds fewer than the count', async () => {
    const inbox = new FakeInbox();
    inbox.pageBytes = 2;
    for (let seq = 1; seq <= 5; seq++) inbox.accept(seq);
    const { socket } = await connected(inbox);
    expect(socket.sentIds).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(inbox.reads).toBe(3);
  });

  it('answers bad frames with error frames, and closes (1008) a client that leaves too many unread', async () => {
    const inbox = new FakeInbox();
    const socket = new FakeSocket();
    socket.reading = false;
    open(inbox, socket);
    for (let index = 0; index < MAX_UNREAD_ERROR_FRAMES; index++) socket.receive('not json');
    await settled();
    expect(socket.frames).toHaveLength(MAX_UNREAD_ERROR_FRAMES);
    expect(socket.frames[0]).toMatchObject({ type: 'error', code: 'malformed_frame' });
    expect(socket.closedWith).toBeUndefined();

    socket.receive('{"type":"nope"}');
    await settled();
    expect(socket.frames).toHaveLength(MAX_UNREAD_ERROR_FRAMES);
    expect(socket.closedWith).toBe(CLOSE_POLICY_VIOLATION);
  });

  it('keeps a client that reads its error frames open, however many it gets', async () => {
    const inbox = new FakeInbox();
    const { socket } = open(inbox);
    for (let index = 0; index < 3 * MAX_UNREAD_ERROR_FRAMES; index++) socket.receive('[]');
    await settled();
    expect(socket.frames).toHaveLength(3 * MAX_UNREAD_ERROR_FRAMES);
    expect(socket.closedWith).toBeUndefined();
  });

  it('answers an ack over the rate limit with a rate_limited error frame that says when to retry', async () => {
    const inbox = new FakeInbox();
    inbox.ackError = Problem.tooManyRequests(7);
    const { socket } = open(inbox);
    socket.receive(
      JSON.stringify({ type: 'ack', messageIds: ['7f1c7a52-9f0e-4a53-8f6e-2b1b3c4d5e6f'] }),
    );
    await settled();
    expect(socket.frames).toEqual([
      expect.objectContaining({ type: 'error', code: 'rate_limited', retryAfter: 7 }),
    ]);
  });

  describe('an ack refused for now (overload, a deadlock, a restart)', () => {
    const ackFrame = JSON.stringify({
      type: 'ack',
      messageIds: ['7f1c7a52-9f0e-4a53-8f6e-2b1b3c4d5e6f'],
    });
    const deadlock = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });
    const poolTimeout = () => new Error('timeout exceeded when trying to connect');

    it('is tried again, reading nothing more from the client meanwhile, and stored without an error frame', async () => {
      const inbox = new FakeInbox();
      inbox.ackErrors = [deadlock(), poolTimeout()];
      const { socket } = open(inbox, new FakeSocket(), [20, 20]);
      socket.receive(ackFrame);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(socket.isPaused).toBe(true);
      await waitFor('the stream', () => inbox.acks === 3 && !socket.isPaused);
      await settled();
      expect(socket.frames).toEqual([]);
    });

    it('ends in a service_unavailable error frame when it is still refused after the last try', async () => {
      const inbox = new FakeInbox();
      inbox.ackError = deadlock();
      inbox.reported = [];
      const { socket } = open(inbox, new FakeSocket(), [1, 1]);
      socket.receive(ackFrame);
      await waitFor('the stream', () => socket.frames.length > 0);
      expect(inbox.acks).toBe(3);
      expect(socket.frames).toEqual([
        expect.objectContaining({ type: 'error', code: 'service_unavailable' }),
      ]);
      expect(inbox.reported).toEqual([{ error: inbox.ackError, during: 'ack' }]);
      expect(socket.isPaused).toBe(false);
    });

    it('is not tried again when the failure is not a refusal for now', async () => {
      const inbox = new FakeInbox();
      inbox.ackError = new Error('a bug');
      inbox.reported = [];
      const { socket } = open(inbox, new FakeSocket(), [1, 1]);
      socket.receive(ackFrame);
      await waitFor('the stream', () => socket.frames.length > 0);
      expect(inbox.acks).toBe(1);
      expect(socket.frames).toEqual([
        expect.objectContaining({ type: 'error', code: 'service_unavailable' }),
      ]);
    });
  });

  it('tries a drain that failed again by itself, so a notified message does not wait for the next notice', async () => {
    const inbox = new FakeInbox();
    inbox.reported = [];
    const socket = new FakeSocket();
    const { stream } = open(inbox, socket, undefined, [5, 5]);
    await stream.catchUp();
    inbox.accept(1);
    const unnumbered = inbox.accept(2); // its number does not follow: a read is needed
    inbox.readErrors = [new Error('timeout exceeded when trying to connect'), new Error('again')];
    stream.notify(unnumbered.message.messageId);
    await waitFor('the stream', () => socket.sentIds.length === 2);
    expect(socket.sentIds).toEqual(['m1', 'm2']);
    expect(inbox.reported.map((report) => report.during)).toEqual(['drain', 'drain']);
  });
});
