import { type DeviceIdentity, SupernodeClient } from '@supernode/client';
import { sleep } from '../../lib/clock.js';
import { KeepAliveHttp } from '../../lib/http.js';

// The sleeping devices of a soak (bench/soak/): laptops that never stream
// and wake in turn to sync over HTTP, as a device woken by a push would, so
// that what they are sent is stored for a while and then acked and purged.

let laptops: SupernodeClient[] = [];
let transport: KeepAliveHttp | undefined;
let running = false;
let loop: Promise<void> | undefined;
let synced = 0;
let syncErrors = 0;

export const handlers = {
  async start({
    url,
    identities,
    everyMs,
  }: {
    url: string;
    identities: DeviceIdentity[];
    everyMs: number;
  }) {
    transport = new KeepAliveHttp(url, 4, { timeoutMs: 30_000 });
    laptops = await Promise.all(
      identities.map((identity) => SupernodeClient.fromIdentity(url, identity, { transport })),
    );
    running = true;
    // Each laptop syncs once every `everyMs`, the laptops spread over it.
    const pause = everyMs / laptops.length;
    loop = (async () => {
      for (let turn = 0; running; turn++) {
        await sleep(pause);
        if (!running) break;
        try {
          synced += (await laptops[turn % laptops.length].sync(() => undefined, 500)).length;
        } catch {
          syncErrors++; // the next turn of this laptop gets what this one did not
        }
      }
    })();
    return {};
  },

  /** Stops waking them; then every laptop syncs once more, so everything sent to them is counted. */
  async finish() {
    running = false;
    await loop;
    for (const laptop of laptops) synced += (await laptop.sync(() => undefined, 500)).length;
    return { synced, syncErrors };
  },

  count: () => ({ synced, syncErrors }),
};

export async function close(): Promise<void> {
  running = false;
  transport?.close();
}
