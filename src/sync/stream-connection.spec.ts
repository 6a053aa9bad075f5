import { EventEmitter } from 'node:events';
import type { PendingMessage } from '../messages/messages.repository.js';
import type { NoticeNumber } from '../messages/notice-numbers.js';
import { StreamConnection, type StreamDependencies } from './stream-connection.js';

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

/** Just what StreamConnection uses of a ws socket: it records the message ids it was sent. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sentIds: string[] = [];
  constructor(readonly transport = new FakeTransport()) {
    super();
  }
  send(data: string): void {
    this.sentIds.push((JSON.parse(data) as { message: { messageId: string } }).message.messageId);
    this.transport.write();
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
  accept(seq: number): { message: PendingMessage; notice: NoticeNumber } {
    const accepted = message(seq);
    this.pending.push(accepted);
    this.pending.sort((a, b) => a.seq - b.seq);
    this.last = { epoch: this.last.epoch, n: this.last.n + 1 };
    return { message: accepted, notice: this.last };
  }

  lastNotice = (): Promise<NoticeNumber> => Promise.resolve(this.last);
  pendingAfter = async (_deviceId: string, afterSeq: number, limit: number) => {
    this.reads++;
    await this.gate;
    return this.pending.filter((pending) => pending.seq > afterSeq).slice(0, limit);
  };
  pendingByIds = (_deviceId: string, ids: string[]) =>
    Promise.resolve(this.pending.filter((pending) => ids.includes(pending.messageId)));
  ack = () => Promise.resolve(0);
  onError = (error: Error) => {
    throw error;
  };
}

function open(inbox: FakeInbox): { socket: FakeSocket; stream: StreamConnection } {
  const socket = new FakeSocket();
  const device = { deviceId: 'device', accountId: 'account' } as never;
  return {
    socket,
    stream: new StreamConnection(socket as never, device, inbox, socket.transport),
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
});
