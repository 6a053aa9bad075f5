import type { Accepted, InboxMessage } from '../src/client/types.js';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import {
  type DeviceKeyPairs,
  type RecipientDevice,
  sealMessage,
  SharedBoxKeys,
  SupernodeClient,
} from '../src/client/index.js';
import { epochMs, monoMs } from './lib/clock.js';
import type { KeepAliveHttp } from './lib/http.js';

/*
 * What the benchmark assumes of the server and SDK for messaging.
 *
 * Identity (accounts, devices, login) is used through the SDK as it is
 * (SupernodeClient.createAccount, createLinkCode, SupernodeClient.linkDevice,
 * currentToken). Messaging is spoken here directly, per PROTOCOL.md, with a
 * keep-alive HTTP client and a bare `ws` socket: that keeps the load
 * generator's own CPU small on a 2-core box (it shares the cores with the
 * server it measures), and it does not depend on the shape the SDK's
 * messaging methods end up with. Everything the scenarios assume is listed in
 * this file; a scenario whose endpoint answers 404 is reported as
 * "not available" instead of failing.
 *
 * 1. POST /v1/messages (Bearer token) with
 *      {clientMessageId, to:{accountId}|{conversationId}, ttlSeconds?, body, keys:[{deviceId, wrappedKey}]}
 *    answers 201 {messageId, acceptedAt, expiresAt}; `keys` names exactly the
 *    recipients' devices plus the sender's other devices (else 409/410).
 *    `acceptedAt` is RFC 3339 (millisecond precision is enough: see live-latency).
 * 2. GET /v1/stream (WebSocket; Bearer token in the Authorization header, or
 *    ?token=) sends {"type":"message","message":InboxMessage}: everything
 *    pending first, then live. The client acks with {"type":"ack","messageIds":[…]}
 *    (at most 1000 ids a frame). A bad token closes with 4401.
 * 3. POST /v1/conversations {members:[accountId…]} → 201 {conversationId}
 *    (fanout-1000; up to 1,000 members).
 * 4. purge: the worker runs job `purge-expired` of BullMQ queue `retention`
 *    (prefix `<REDIS_PREFIX>:bull`, as in src/queue/queue-names.ts): the
 *    harness enqueues one and reads its processedOn/finishedOn. The expired
 *    messages are seeded straight into PostgreSQL (1,000,000 of them cannot
 *    go through the API in the time budget), into the tables and columns
 *    listed in PURGE_SEED_COLUMNS, in the daily partitions that the server's
 *    ensure_expiry_partitions(from, to) makes; if the schema differs the
 *    purge scenario says so and skips.
 * 5. The server takes its limits from the environment (src/config/env.ts):
 *    the harness raises the rate limits (RATE_LIMIT_*) so that they do not
 *    cap a benchmark, and sets PURGE_INTERVAL_SECONDS high so that the purge
 *    runs only when the harness asks.
 */

export const MESSAGES_PATH = '/v1/messages';
export const STREAM_PATH = '/v1/stream';
export const CONVERSATIONS_PATH = '/v1/conversations';
export const PURGE_QUEUE = 'retention';
export const PURGE_JOB = 'purge-expired';
export const bullPrefix = (redisPrefix: string): string => `${redisPrefix}:bull`;

/**
 * Columns the purge scenario writes when it seeds expired messages (the
 * expiry-partitioned schema: it also calls ensure_expiry_partitions).
 */
export const PURGE_SEED_COLUMNS = {
  messages: [
    'id',
    'seq',
    'sender_account_id',
    'sender_device_id',
    'client_message_id',
    'recipient_account_id',
    'device_count',
    'pending_count',
    'accepted_at',
    'expires_at',
  ],
  message_client_ids: [
    'sender_device_id',
    'client_message_id',
    'message_id',
    'accepted_at',
    'expires_at',
  ],
  message_bodies: ['message_id', 'expires_at', 'body'],
  deliveries: ['device_id', 'message_seq', 'message_id', 'expires_at', 'wrapped_key'],
} as const;

/** The ciphertext size of every benchmark message: 1 KiB (nonce 24 + plaintext + tag 16). */
export const BODY_BYTES = 1024;
const PLAINTEXT_BYTES = BODY_BYTES - 24 - 16;

export interface SendMessageRequest {
  clientMessageId: string;
  to: { accountId: string } | { conversationId: string };
  ttlSeconds?: number;
  body: string;
  keys: { deviceId: string; wrappedKey: string }[];
}

// The SDK's own types: one definition of the wire shapes.
export type { InboxMessage };
export type SendMessageAccepted = Omit<Accepted, 'clientMessageId'>;

export type StreamServerFrame =
  | { type: 'message'; message: InboxMessage }
  | { type: 'receipt'; messageId: string; deviceId: string }
  | { type: string };

export interface StreamAckFrame {
  type: 'ack';
  messageIds: string[];
}

/** A logged-in device as the load processes pass it around (structured-cloneable). */
export interface BenchDevice {
  accountId: string;
  deviceId: string;
  token: string;
  keys: DeviceKeyPairs;
}

// --- identity, through the SDK ---

/** One account with `devices` devices (the first creates the account, the rest are linked). */
export async function provisionAccount(
  baseUrl: string,
  handle: string,
  devices: number,
): Promise<BenchDevice[]> {
  const first = await SupernodeClient.createAccount(baseUrl, handle, { deviceName: 'bench' });
  const clients = [first];
  for (let index = 1; index < devices; index++) {
    const { code } = await first.createLinkCode();
    clients.push(await SupernodeClient.linkDevice(baseUrl, code, { deviceName: 'bench' }));
  }
  return clients.map((client) => ({
    accountId: client.accountId,
    deviceId: client.deviceId,
    token: client.currentToken as string,
    keys: client.identity.keys,
  }));
}

// --- sealing, through the SDK ---

/**
 * Seals 1 KiB messages from one sender device with the SDK's own
 * construction (`sealMessage`, PROTOCOL.md). Its shared keys are computed
 * once per recipient device, as the SDK's client keeps them.
 */
export class MessageSealer {
  private readonly boxKeys: SharedBoxKeys;
  private readonly plaintext: Uint8Array;

  constructor(private readonly sender: BenchDevice) {
    this.boxKeys = new SharedBoxKeys(sender.keys.boxSecretKey);
    const text = JSON.stringify({ type: 'text', text: '' });
    const padding = 'x'.repeat(PLAINTEXT_BYTES - text.length);
    this.plaintext = new TextEncoder().encode(JSON.stringify({ type: 'text', text: padding }));
  }

  seal(
    to: SendMessageRequest['to'],
    recipients: RecipientDevice[],
    ttlSeconds?: number,
  ): SendMessageRequest {
    const clientMessageId = randomUUID();
    const sealed = sealMessage(
      this.plaintext,
      { deviceId: this.sender.deviceId, boxKeys: this.boxKeys },
      clientMessageId,
      recipients,
    );
    return { clientMessageId, to, ...(ttlSeconds ? { ttlSeconds } : {}), ...sealed };
  }
}

// --- sending ---

export class SendError extends Error {
  constructor(
    readonly status: number,
    text: string,
  ) {
    super(`POST ${MESSAGES_PATH} answered ${status}: ${text.slice(0, 300)}`);
  }
}

/** POST /v1/messages with an already serialized request; resolves on 201. */
export async function sendMessage(
  http: KeepAliveHttp,
  token: string,
  json: string,
): Promise<SendMessageAccepted> {
  const answer = await http.request('POST', MESSAGES_PATH, { token, json });
  if (answer.status !== 201) throw new SendError(answer.status, answer.text);
  return JSON.parse(answer.text) as SendMessageAccepted;
}

// --- the stream ---

export interface ReceivedFrame {
  message: InboxMessage;
  /** monoMs() when the frame was read. */
  receivedAtMono: number;
  /** epochMs() when the frame was read. */
  receivedAtEpoch: number;
}

/**
 * A bare WebSocket on /v1/stream that acks what it receives, gathered for a
 * few milliseconds as the SDK's MessageStream does.
 */
export class StreamClient {
  private pendingAcks: string[] = [];
  private ackTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly socket: WebSocket,
    private readonly ackDelayMs: number,
  ) {}

  static open(
    baseUrl: string,
    token: string,
    onMessage: (frame: ReceivedFrame) => void,
    options: { ackDelayMs?: number; localAddress?: string; ack?: boolean } = {},
  ): Promise<StreamClient> {
    const url = new URL(STREAM_PATH, baseUrl.replace(/^http/, 'ws')).toString();
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      localAddress: options.localAddress,
    });
    const client = new StreamClient(socket, options.ackDelayMs ?? 5);
    const ack = options.ack ?? true;
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const receivedAtMono = monoMs();
      const receivedAtEpoch = epochMs();
      const frame = JSON.parse(data.toString('utf8')) as StreamServerFrame;
      if (frame.type !== 'message' || !('message' in frame)) return;
      onMessage({ message: frame.message, receivedAtMono, receivedAtEpoch });
      if (ack) client.queueAck(frame.message.messageId);
    });
    return new Promise((resolve, reject) => {
      socket.once('open', () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        resolve(client);
      });
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => {
        reject(new Error(`GET ${STREAM_PATH} answered ${response.statusCode}`));
        socket.terminate();
      });
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.flushAcks();
    this.socket.close(1000);
  }

  private queueAck(messageId: string): void {
    this.pendingAcks.push(messageId);
    if (this.pendingAcks.length >= 1000) this.flushAcks();
    else this.ackTimer ??= setTimeout(() => this.flushAcks(), this.ackDelayMs);
  }

  private flushAcks(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length === 0 || !this.isOpen) return;
    const frame: StreamAckFrame = { type: 'ack', messageIds: this.pendingAcks };
    this.socket.send(JSON.stringify(frame));
    this.pendingAcks = [];
  }
}

// --- what the server has ---

export interface Availability {
  messages: boolean;
  stream: boolean;
  detail: string;
}

/**
 * Asks the server whether it has the messaging endpoints: an empty send is
 * refused as invalid (4xx other than 404) where POST /v1/messages exists, and
 * answered 404 where it does not; the stream either opens or answers 404.
 */
export async function probeMessaging(
  http: KeepAliveHttp,
  baseUrl: string,
  device: BenchDevice,
): Promise<Availability> {
  const send = await http.request('POST', MESSAGES_PATH, { token: device.token, json: '{}' });
  const messages = send.status !== 404;
  let stream = true;
  let streamDetail = 'opens';
  try {
    const client = await StreamClient.open(baseUrl, device.token, () => undefined);
    client.close();
  } catch (error) {
    stream = false;
    streamDetail = (error as Error).message;
  }
  return {
    messages,
    stream,
    detail: `POST ${MESSAGES_PATH} → ${send.status}${messages ? '' : ' (server lacks POST /v1/messages)'}; ${STREAM_PATH}: ${streamDetail}`,
  };
}
