import type {
  Accepted,
  MessageStream,
  ReceivedMessage,
  Recipient,
  SupernodeClient,
} from '@supernode/client';
import { monoMs, epochMs, sleep } from '../../lib/clock.js';
import { closedLoop, mapLimit, openLoop, type LoadResult } from '../../lib/drivers.js';
import { KeepAliveHttp } from '../../lib/http.js';
import {
  MESSAGE_TEXT,
  provisionAccount,
  resumeClient,
  type BenchDevice,
} from '../../sdk-contract.js';
import { log } from '../log.js';

// A load process of the server scenarios, entirely through the SDK:
// provisions devices, sends with client.sendText, and holds streams opened
// with client.connect that record when each decrypted message reaches its
// handler.

/** Who sends to whom: one sender device and where its messages go. */
export interface Route {
  sender: BenchDevice;
  to: Recipient;
}

let transport: KeepAliveHttp | undefined;
/** This process's SDK client of each device it sends or receives for. */
const clients = new Map<string, Promise<SupernodeClient>>();
let senders: { client: SupernodeClient; to: Recipient }[] = [];
let ttlSeconds: number | undefined;
let ephemeral = false;
let nextRoute = 0;
let stopRequested = false;

function clientOf(baseUrl: string, device: BenchDevice): Promise<SupernodeClient> {
  transport ??= new KeepAliveHttp(baseUrl, 256);
  let client = clients.get(device.deviceId);
  if (!client) {
    client = resumeClient(baseUrl, device, transport);
    clients.set(device.deviceId, client);
  }
  return client;
}

/** The next message, round-robin over the routes, sealed and sent by the SDK. */
function sendNext(): Promise<Accepted> {
  const route = senders[nextRoute++ % senders.length];
  return route.client.sendText(route.to, MESSAGE_TEXT, { ttlSeconds, ephemeral });
}

interface SendRecords {
  clientMessageIds: string[];
  /** When each send was due (open loop) or began, monoMs. */
  sentAt: Float64Array;
  answeredAt: Float64Array;
  /** The server's acceptedAt, epoch ms. */
  acceptedAt: Float64Array;
}

class SendLog {
  ids: string[] = [];
  sent: number[] = [];
  answered: number[] = [];
  accepted: number[] = [];
  add(accepted: Accepted, sentAt: number, answeredAt: number) {
    this.ids.push(accepted.clientMessageId);
    this.sent.push(sentAt);
    this.answered.push(answeredAt);
    this.accepted.push(Date.parse(accepted.acceptedAt));
  }
  records(): SendRecords {
    return {
      clientMessageIds: this.ids,
      sentAt: Float64Array.from(this.sent),
      answeredAt: Float64Array.from(this.answered),
      acceptedAt: Float64Array.from(this.accepted),
    };
  }
}

// --- receiving ---
const streams: MessageStream[] = [];
let recording = false;
const frameIds: string[] = [];
const frameAt: number[] = [];
const frameAcceptedToFrame: number[] = [];
let framesSeen = 0;
let streamErrors = 0;
let firstStreamError: string | undefined;

// A message is timed when the SDK hands it, decrypted, to the application.
function onMessage(message: ReceivedMessage): void {
  const receivedAtMono = monoMs();
  const receivedAtEpoch = epochMs();
  framesSeen++;
  if ((message.content as { text?: unknown }).text !== MESSAGE_TEXT)
    onStreamError(
      new Error(`message ${message.messageId} decrypted to other content than was sent`),
    );
  if (!recording) return;
  frameIds.push(message.clientMessageId);
  frameAt.push(receivedAtMono);
  frameAcceptedToFrame.push(receivedAtEpoch - Date.parse(message.acceptedAt));
}

function onStreamError(error: Error): void {
  streamErrors++;
  if (firstStreamError === undefined) {
    firstStreamError = error.message;
    log(`stream error: ${error.message}`);
  }
}

export const handlers = {
  /** Accounts with `devicesPerAccount` devices each, through the SDK; one entry per account. */
  async provision(options: {
    baseUrl: string;
    handles: string[];
    devicesPerAccount: number;
    concurrency: number;
  }): Promise<BenchDevice[][]> {
    transport ??= new KeepAliveHttp(options.baseUrl, 256);
    let done = 0;
    return mapLimit(options.handles, options.concurrency, async (handle) => {
      const devices = await provisionAccount(
        options.baseUrl,
        handle,
        options.devicesPerAccount,
        transport,
      );
      if (++done % 500 === 0) log(`provisioned ${done}/${options.handles.length} accounts`);
      return devices;
    });
  },

  /**
   * Sets the routes the sends go round-robin over. Each sender's SDK learns
   * its recipients' devices from the server's 409 on its first send.
   */
  async routes(options: {
    baseUrl: string;
    routes: Route[];
    ttlSeconds?: number;
    /** Sends ephemeral messages (delivered to open streams only, never stored). */
    ephemeral?: boolean;
  }) {
    senders = await Promise.all(
      options.routes.map(async (route) => ({
        client: await clientOf(options.baseUrl, route.sender),
        to: route.to,
      })),
    );
    ttlSeconds = options.ttlSeconds;
    ephemeral = options.ephemeral ?? false;
    return { routes: senders.length };
  },

  /** `concurrency` senders back to back (ingest throughput). */
  closedLoop(options: { concurrency: number; warmupMs: number; durationMs: number }) {
    return closedLoop({
      ...options,
      op: async () => {
        await sendNext();
      },
    });
  },

  /**
   * Sends at a fixed rate; latency is counted from each send's due time.
   * With `record`, returns when each message was sent, answered and accepted;
   * with `untilStopped`, runs until stopLoop() (up to durationMs).
   */
  async openLoop(options: {
    rate: number;
    durationMs: number;
    maxInFlight: number;
    record?: boolean;
    untilStopped?: boolean;
  }): Promise<LoadResult & { records?: SendRecords; dueEpoch: Float64Array }> {
    const sends = new SendLog();
    const dueEpoch: number[] = [];
    const monoToEpoch = epochMs() - monoMs();
    stopRequested = false;
    const result = await openLoop({
      rate: options.rate,
      durationMs: options.durationMs,
      maxInFlight: options.maxInFlight,
      shouldStop: options.untilStopped ? () => stopRequested : undefined,
      onSample: (dueAt) => dueEpoch.push(dueAt + monoToEpoch),
      op: async (_sequence, dueAt) => {
        const accepted = await sendNext();
        if (options.record) sends.add(accepted, dueAt, monoMs());
      },
    });
    return {
      ...result,
      dueEpoch: Float64Array.from(dueEpoch),
      records: options.record ? sends.records() : undefined,
    };
  },

  stopLoop() {
    stopRequested = true;
    return {};
  },

  /** Exactly `count` messages, `concurrency` at a time (seeding a backlog). */
  async sendCount(options: { count: number; concurrency: number }) {
    const started = monoMs();
    await mapLimit(Array.from({ length: options.count }), options.concurrency, sendNext);
    return { sent: options.count, seconds: (monoMs() - started) / 1000 };
  },

  /** One message, with its timings. */
  async sendOne() {
    const sentAt = monoMs();
    const accepted = await sendNext();
    const sends = new SendLog();
    sends.add(accepted, sentAt, monoMs());
    return sends.records();
  },

  /** Opens the SDK's stream for each device: messages are decrypted, recorded and acked. */
  // openingAt: monoMs when the first socket began to open (the SDK client
  // made, libsodium loaded), from which a catch-up's first frame is timed.
  async connect(options: { baseUrl: string; devices: BenchDevice[]; concurrency: number }) {
    let openingAt: number | undefined;
    const opened = await mapLimit(options.devices, options.concurrency, async (device) => {
      const client = await clientOf(options.baseUrl, device);
      openingAt ??= monoMs();
      return client.connect({ onMessage, onError: onStreamError });
    });
    streams.push(...opened);
    return { open: streams.filter((stream) => stream.isOpen).length, openingAt };
  },

  startRecording() {
    recording = true;
    frameIds.length = 0;
    frameAt.length = 0;
    frameAcceptedToFrame.length = 0;
    streamErrors = 0;
    firstStreamError = undefined;
    return {};
  },

  frames: () => ({ recorded: frameIds.length, seen: framesSeen }),

  async waitFrames(options: { count: number; timeoutMs: number }) {
    const deadline = monoMs() + options.timeoutMs;
    while (frameIds.length < options.count && monoMs() < deadline) await sleep(5);
    return { recorded: frameIds.length };
  },

  stopRecording() {
    recording = false;
    return {
      clientMessageIds: [...frameIds],
      receivedAt: Float64Array.from(frameAt),
      acceptedToFrame: Float64Array.from(frameAcceptedToFrame),
      streamErrors,
      firstStreamError,
    };
  },

  /** Closes every stream for good, after its last acks. */
  async disconnect() {
    await Promise.all(streams.map((stream) => stream.close()));
    streams.length = 0;
    return {};
  },
};

export type FrameRecords = ReturnType<typeof handlers.stopRecording>;
export type { SendRecords };

export async function close(): Promise<void> {
  await handlers.disconnect();
  transport?.close();
}
