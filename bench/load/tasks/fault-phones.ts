import net from 'node:net';
import { type DeviceIdentity, SupernodeClient } from '@supernode/client';
import type { MessageStream } from '@supernode/client';
import { epochMs, sleep } from '../../lib/clock.js';
import { quantile, sortedCopy } from '../../lib/latency.js';

// The streaming devices of a fault run (bench/faults/): each records what it
// received (message id → times), when, and the frames the SDK dropped as
// already handled. Their TCP connections go through a hook of this task's,
// so that a scenario can slow the reading, or keep a phone off the network.

interface Phone {
  stream: MessageStream;
  /** The phone's current TCP connection (the SDK opens a new one on reconnect). */
  socket?: net.Socket;
  /** Messages received since the last (re)connect. */
  sinceConnect: number;
  /** Set: the connection is dropped once it has received this many messages (once). */
  cutAfter?: number;
}

const phones: Phone[] = [];
// With keepIds (a fault run): every delivery, for the check that each came once.
let keepIds = true;
const received: [string, string][] = [];
const latencies: [number, number][] = [];
let receivedCount = 0;
// Accepted → received of the deliveries since the last latencyWindow() (a soak's samples).
let windowMs: number[] = [];
let redelivered = 0;
// While set, every connection attempt fails as if the network were down.
let offline = false;
let cutsMidCatchUp = 0;

export const handlers = {
  async connect(request: { url: string; identities: DeviceIdentity[]; keepIds?: boolean }) {
    const { url, identities } = request;
    keepIds = request.keepIds ?? true;
    for (const identity of identities) {
      const client = await SupernodeClient.fromIdentity(url, identity);
      const phone = { sinceConnect: 0 } as Phone;
      phone.stream = await client.connect(
        {
          onMessage: (message) => {
            const now = epochMs();
            const ms = now - Date.parse(message.acceptedAt);
            receivedCount++;
            windowMs.push(ms);
            if (keepIds) {
              received.push([identity.deviceId, message.messageId]);
              latencies.push([now, ms]);
            }
            if (++phone.sinceConnect === phone.cutAfter) {
              phone.cutAfter = undefined;
              cutsMidCatchUp++;
              phone.stream.dropConnection();
            }
          },
          onDuplicate: () => redelivered++,
          onConnect: () => (phone.sinceConnect = 0),
          onError: () => undefined,
        },
        {
          // Back within a second of the network's return, as a phone on the move would be.
          maxReconnectDelayMs: 1000,
          socketOptions: {
            // ws's createConnection, called with options only.
            createConnection: (options: net.NetConnectOpts) => {
              // Offline: a port nothing listens on, so the attempt is refused.
              const socket = net.connect(offline ? { ...options, port: 1 } : options);
              phone.socket = socket;
              return socket;
            },
          },
        },
      );
      phones.push(phone);
    }
    return {};
  },

  /** Cuts every connection without a close frame (the SDK reconnects). */
  cut() {
    for (const phone of phones) phone.stream.dropConnection();
    return {};
  },

  /**
   * For `ms`, the phones read in short bursts: their sockets are paused for
   * 900 ms in every second, so what the server sends waits in buffers.
   */
  async readSlowly({ ms }: { ms: number }) {
    const until = epochMs() + ms;
    while (epochMs() < until) {
      for (const phone of phones) phone.socket?.pause();
      await sleep(900);
      for (const phone of phones) phone.socket?.resume();
      await sleep(100);
    }
    return {};
  },

  /**
   * The phones lose the network for `offlineMs` (connections cut, no
   * reconnect succeeds) while messages pile up; when it is back, each phone's
   * connection is cut again after its first `cutAfterMessages` messages, in
   * the middle of its catch-up, and it reconnects once more.
   */
  async cutMidCatchUp({
    offlineMs,
    cutAfterMessages,
  }: {
    offlineMs: number;
    cutAfterMessages: number;
  }) {
    offline = true;
    for (const phone of phones) phone.stream.dropConnection();
    await sleep(offlineMs);
    for (const phone of phones) phone.cutAfter = cutAfterMessages;
    offline = false;
    return {};
  },

  count: () => ({ received: receivedCount }),

  /** Deliveries since the last call, and their p50 and p99 accepted → received. */
  latencyWindow() {
    const sorted = sortedCopy(Float64Array.from(windowMs));
    windowMs = [];
    return {
      deliveries: sorted.length,
      p50Ms: sorted.length ? quantile(sorted, 0.5) : null,
      p99Ms: sorted.length ? quantile(sorted, 0.99) : null,
    };
  },

  collect: () => ({ received, latencies, redelivered, cutsMidCatchUp }),
};

export async function close(): Promise<void> {
  await Promise.all(phones.map((phone) => phone.stream.close().catch(() => undefined)));
}
