import {
  type DeviceKeyPairs,
  type HttpTransport,
  type MessageStream,
  SupernodeClient,
} from '@supernode/client';
import type { KeepAliveHttp } from './lib/http.js';

/*
 * What the benchmark assumes of the server and SDK.
 *
 * The load goes through the SDK (@supernode/client): accounts and devices are
 * created with SupernodeClient.createAccount / linkDevice, messages are sent
 * with client.sendText (sealed by the SDK, resent by it after a 409/410
 * while it learns the recipients' devices), and received with client.connect
 * (the SDK's MessageStream: decrypted, handed to a handler, acked). Two
 * things are the harness's own: the SDK's HTTP goes through
 * lib/http.ts's KeepAliveHttp, passed as the SDK's `transport` (the load
 * generators' CPU is taken from the server they measure, and fetch costs
 * more), and a device is resumed in a load process with the token it got
 * when it was provisioned (ResumeOptions.token), not by a fresh login.
 *
 * What is spoken without the SDK:
 * 1. The availability probe posts an empty send (an SDK cannot): a server
 *    with POST /v1/messages refuses it as invalid, one without answers 404;
 *    a scenario whose endpoint is missing is reported as "not available".
 * 2. purge: the worker runs job `purge-expired` of BullMQ queue `retention`
 *    (prefix `<REDIS_PREFIX>:{bull}`, as in src/queue/queue-names.ts): the
 *    harness enqueues one and reads its processedOn/finishedOn. The expired
 *    messages are seeded straight into PostgreSQL (1,000,000 of them cannot
 *    go through the API in the time budget), into the tables and columns
 *    listed in PURGE_SEED_COLUMNS, in the daily partitions that the server's
 *    ensure_expiry_partitions(from, to) makes; if the schema differs the
 *    purge scenario says so and skips.
 * 3. The server takes its limits from the environment (src/config/env.ts):
 *    the harness raises the rate limits (RATE_LIMIT_*) so that they do not
 *    cap a benchmark, and sets PURGE_INTERVAL_SECONDS and
 *    EXPIRY_INTERVAL_SECONDS high so that the purge and the expiry record
 *    run only when the harness asks.
 */

export const MESSAGES_PATH = '/v1/messages';
export const STREAM_PATH = '/v1/stream';
export const CONVERSATIONS_PATH = '/v1/conversations';
export const PURGE_QUEUE = 'retention';
export const PURGE_JOB = 'purge-expired';
// Records what expired (its senders' status) ahead of the purge; returns { complete }.
export const RECORD_EXPIRIES_JOB = 'record-expiries';
// Where the expiry record got; absent in servers that recorded during the purge.
export const EXPIRY_PROGRESS_TABLE = 'expiry_progress';
export const bullPrefix = (redisPrefix: string): string => `${redisPrefix}:{bull}`;

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

/** The text every benchmark message carries: the SDK's {"type":"text","text":…} is then exactly the plaintext size. */
export const MESSAGE_TEXT = 'x'.repeat(
  PLAINTEXT_BYTES - JSON.stringify({ type: 'text', text: '' }).length,
);

/** A logged-in device as the load processes pass it around (structured-cloneable). */
export interface BenchDevice {
  accountId: string;
  deviceId: string;
  token: string;
  keys: DeviceKeyPairs;
}

/** One account with `devices` devices (the first creates the account, the rest are linked). */
export async function provisionAccount(
  baseUrl: string,
  handle: string,
  devices: number,
  transport?: HttpTransport,
): Promise<BenchDevice[]> {
  const options = { deviceName: 'bench', transport };
  const first = await SupernodeClient.createAccount(baseUrl, handle, options);
  const clients = [first];
  for (let index = 1; index < devices; index++) {
    const { code } = await first.createLinkCode();
    clients.push(await SupernodeClient.linkDevice(baseUrl, code, options));
  }
  return clients.map((client) => ({
    accountId: client.accountId,
    deviceId: client.deviceId,
    token: client.currentToken as string,
    keys: client.identity.keys,
  }));
}

/** The SDK client of a provisioned device, resumed with its token (no login). */
export function resumeClient(
  baseUrl: string,
  device: BenchDevice,
  transport?: HttpTransport,
): Promise<SupernodeClient> {
  const { accountId, deviceId, keys, token } = device;
  return SupernodeClient.fromIdentity(baseUrl, { accountId, deviceId, keys }, { transport, token });
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
 * answered 404 where it does not; the SDK's stream either opens or fails.
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
  let opened: MessageStream | undefined;
  try {
    const client = await resumeClient(baseUrl, device, http);
    opened = await client.connect({ onMessage: () => undefined }, { maxReconnectDelayMs: 0 });
  } catch (error) {
    stream = false;
    streamDetail = (error as Error).message;
  }
  await opened?.close();
  return {
    messages,
    stream,
    detail: `POST ${MESSAGES_PATH} → ${send.status}${messages ? '' : ' (server lacks POST /v1/messages)'}; ${STREAM_PATH}: ${streamDetail}`,
  };
}
