import { type DeviceIdentity, SupernodeClient } from '../../../src/client/index.js';
import type { MessageStream } from '../../../src/client/message-stream.js';
import { epochMs } from '../../lib/clock.js';

// The streaming devices of a fault run (bench/faults/): each records what it
// received (message id → times), when, and the frames the SDK dropped as
// already handled.

const streams: MessageStream[] = [];
const received: [string, string][] = [];
const latencies: [number, number][] = [];
let redelivered = 0;

export const handlers = {
  async connect({ url, identities }: { url: string; identities: DeviceIdentity[] }) {
    for (const identity of identities) {
      const client = await SupernodeClient.fromIdentity(url, identity);
      streams.push(
        await client.connect({
          onMessage: (message) => {
            const now = epochMs();
            received.push([identity.deviceId, message.messageId]);
            latencies.push([now, now - Date.parse(message.acceptedAt)]);
          },
          onDuplicate: () => redelivered++,
          onError: () => undefined,
        }),
      );
    }
    return {};
  },

  /** Cuts every connection without a close frame (the SDK reconnects). */
  cut() {
    for (const stream of streams) stream.dropConnection();
    return {};
  },

  count: () => ({ received: received.length }),

  collect: () => ({ received, latencies, redelivered }),
};

export async function close(): Promise<void> {
  await Promise.all(streams.map((stream) => stream.close().catch(() => undefined)));
}
