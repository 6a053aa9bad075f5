import { ready, type RecipientDevice } from '../../../src/client/index.js';
import { monoMs, epochMs, sleep } from '../../lib/clock.js';
import { closedLoop, mapLimit, openLoop, type LoadResult } from '../../lib/drivers.js';
import { KeepAliveHttp } from '../../lib/http.js';
import {
  MessageSealer,
  provisionAccount,
  sendMessage,
  StreamClient,
  type BenchDevice,
  type ReceivedFrame,
  type SendMessageRequest,
} from '../../sdk-contract.js';
import { log } from '../log.js';

// A load process of the server scenarios: provisions devices through the SDK,
// sends sealed messages over keep-alive HTTP, and holds stream sockets that
// record when each frame arrives.

/** Who sends to whom: one sender device, its recipient, and every device a key is wrapped for. */
export interface Route {
  sender: BenchDevice;
  to: SendMessageRequest['to'];
  /** boxKey in base64, as the SDK's directory carries it. */
  recipients: RecipientDevice[];
}

interface Prepared {
  token: string;
  clientMessageId: string;
  json: string;
}

let http: KeepAliveHttp | undefined;
let routes: Route[] = [];
let sealers: MessageSealer[] = [];
let ttlSeconds: number | undefined;
let prepared: Prepared[] = [];
let nextRoute = 0;
let stopRequested = false;

function seal(): Prepared {
  const index = nextRoute++ % routes.length;
  const route = routes[index];
  const request = sealers[index].seal(route.to, route.recipients, ttlSeconds);
  return {
    token: route.sender.token,
    clientMessageId: request.clientMessageId,
    json: JSON.stringify(request),
  };
}

// Sealed ahead where there was time; sealed on the spot once those run out.
const next = (): Prepared => prepared.pop() ?? seal();

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
  add(id: string, sentAt: number, answeredAt: number, acceptedAt: string) {
    this.ids.push(id);
    this.sent.push(sentAt);
    this.answered.push(answeredAt);
    this.accepted.push(Date.parse(acceptedAt));
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
const streams: StreamClient[] = [];
let recording = false;
const frameIds: string[] = [];
const frameAt: number[] = [];
const frameAcceptedToFrame: number[] = [];
let framesSeen = 0;

function onFrame(frame: ReceivedFrame): void {
  framesSeen++;
  if (!recording) return;
  frameIds.push(frame.message.clientMessageId);
  frameAt.push(frame.receivedAtMono);
  frameAcceptedToFrame.push(frame.receivedAtEpoch - Date.parse(frame.message.acceptedAt));
}

export const handlers = {
  /** Accounts with `devicesPerAccount` devices each, through the SDK; one entry per account. */
  async provision(options: {
    baseUrl: string;
    handles: string[];
    devicesPerAccount: number;
    concurrency: number;
  }): Promise<BenchDevice[][]> {
    let done = 0;
    return mapLimit(options.handles, options.concurrency, async (handle) => {
      const devices = await provisionAccount(options.baseUrl, handle, options.devicesPerAccount);
      if (++done % 500 === 0) log(`provisioned ${done}/${options.handles.length} accounts`);
      return devices;
    });
  },

  /** Sets the routes and seals `count` messages ahead (round-robin over the routes). */
  async prepare(options: { baseUrl: string; routes: Route[]; count: number; ttlSeconds?: number }) {
    await ready();
    http ??= new KeepAliveHttp(options.baseUrl, 256);
    routes = options.routes;
    sealers = routes.map((route) => new MessageSealer(route.sender));
    ttlSeconds = options.ttlSeconds;
    const started = monoMs();
    prepared = [];
    for (let index = 0; index < options.count; index++) prepared.push(seal());
    prepared.reverse(); // pop() takes them in sealing order
    return { prepared: prepared.length, ms: monoMs() - started };
  },

  /** `concurrency` senders back to back (ingest throughput). */
  closedLoop(options: { concurrency: number; warmupMs: number; durationMs: number }) {
    const client = http as KeepAliveHttp;
    return closedLoop({
      ...options,
      op: async () => {
        const message = next();
        await sendMessage(client, message.token, message.json);
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
    const client = http as KeepAliveHttp;
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
        const message = next();
        const accepted = await sendMessage(client, message.token, message.json);
        if (options.record)
          sends.add(message.clientMessageId, dueAt, monoMs(), accepted.acceptedAt);
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
    const client = http as KeepAliveHttp;
    const started = monoMs();
    await mapLimit(Array.from({ length: options.count }), options.concurrency, async () => {
      const message = next();
      await sendMessage(client, message.token, message.json);
    });
    return { sent: options.count, seconds: (monoMs() - started) / 1000 };
  },

  /** One message, with its timings. */
  async sendOne() {
    const client = http as KeepAliveHttp;
    const message = next();
    const sentAt = monoMs();
    const accepted = await sendMessage(client, message.token, message.json);
    const log = new SendLog();
    log.add(message.clientMessageId, sentAt, monoMs(), accepted.acceptedAt);
    return log.records();
  },

  /** Opens a stream for each device; every frame is acked as the SDK does. */
  async connect(options: { baseUrl: string; devices: BenchDevice[]; concurrency: number }) {
    const opened = await mapLimit(options.devices, options.concurrency, (device) =>
      StreamClient.open(options.baseUrl, device.token, onFrame),
    );
    streams.push(...opened);
    return { open: streams.filter((stream) => stream.isOpen).length };
  },

  startRecording() {
    recording = true;
    frameIds.length = 0;
    frameAt.length = 0;
    frameAcceptedToFrame.length = 0;
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
    };
  },

  disconnect() {
    for (const stream of streams) stream.close();
    streams.length = 0;
    return {};
  },
};

export type FrameRecords = ReturnType<typeof handlers.stopRecording>;
export type { SendRecords };

export function close(): Promise<void> {
  for (const stream of streams) stream.socket.terminate();
  http?.close();
  return Promise.resolve();
}
