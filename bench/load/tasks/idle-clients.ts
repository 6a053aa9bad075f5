import WebSocket from 'ws';
import type { MessageStream } from '@supernode/client';
import { mapLimit } from '../../lib/drivers.js';
import { resumeClient, type BenchDevice } from '../../sdk-contract.js';

// Idle sockets: bare `ws` ones for the idle-socket ceiling, the SDK's
// streams for the scenario. They open, answer pings (ws does that by
// itself), and otherwise do nothing.

/** What either kind of idle connection offers. */
interface Idle {
  readonly isOpen: boolean;
  /** Ends it for good (an SDK stream would otherwise reconnect). */
  end(): void;
}

const idle: Idle[] = [];
let failures = 0;
let firstFailure: string | undefined;

/** Opens `count` connections, `concurrency` at a time, counting the ones that fail. */
async function openEach(
  count: number,
  concurrency: number,
  open: (index: number) => Promise<Idle>,
) {
  await mapLimit(Array.from({ length: count }), concurrency, async (_, index) => {
    try {
      idle.push(await open(index));
    } catch (error) {
      failures++;
      firstFailure ??= (error as Error).message;
    }
  });
  return { open: handlers.open().open, failures, firstFailure };
}

async function bareSocket(url: string, localAddress?: string): Promise<Idle> {
  const socket = new WebSocket(url, { perMessageDeflate: false, localAddress });
  try {
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) =>
        reject(new Error(`answered ${response.statusCode}`)),
      );
    });
  } catch (error) {
    socket.terminate();
    throw error;
  }
  socket.on('error', () => undefined);
  return {
    get isOpen() {
      return socket.readyState === WebSocket.OPEN;
    },
    end: () => socket.terminate(),
  };
}

function sdkStream(stream: MessageStream): Idle {
  return {
    get isOpen() {
      return stream.isOpen;
    },
    end: () => void stream.close(),
  };
}

export const handlers = {
  /** `count` bare sockets to `url` (the ceiling's bare server). */
  connect(options: { url: string; count: number; localAddress?: string; concurrency: number }) {
    return openEach(options.count, options.concurrency, () =>
      bareSocket(options.url, options.localAddress),
    );
  },

  /**
   * `count` SDK streams, round-robin over the devices (a device may hold
   * several); a backlog, if any, is read and acked by the SDK.
   */
  async connectDevices(options: {
    baseUrl: string;
    devices: BenchDevice[];
    count: number;
    localAddress?: string;
    concurrency: number;
  }) {
    const clients = await Promise.all(
      options.devices.map((device) => resumeClient(options.baseUrl, device)),
    );
    return openEach(options.count, options.concurrency, async (index) => {
      const client = clients[index % clients.length];
      const stream = await client.connect(
        { onMessage: () => undefined },
        { socketOptions: { localAddress: options.localAddress } },
      );
      return sdkStream(stream);
    });
  },

  open: () => ({ open: idle.filter((connection) => connection.isOpen).length }),

  closeAll() {
    for (const connection of idle) connection.end();
    idle.length = 0;
    return {};
  },
};

export function close(): Promise<void> {
  handlers.closeAll();
  return Promise.resolve();
}
