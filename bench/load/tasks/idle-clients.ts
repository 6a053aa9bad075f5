import WebSocket from 'ws';
import { mapLimit } from '../../lib/drivers.js';

// Idle sockets for the idle-socket ceiling and scenario: they open, answer
// pings (ws does that by itself), and otherwise do nothing.
const sockets: WebSocket[] = [];
let failures = 0;
let firstFailure: string | undefined;

export const handlers = {
  async connect(options: {
    url: string;
    count: number;
    /** One bearer token per socket (the real server); none for the bare one. */
    tokens?: string[];
    localAddress?: string;
    concurrency: number;
  }) {
    await mapLimit(Array.from({ length: options.count }), options.concurrency, async (_, index) => {
      const token = options.tokens?.[index % options.tokens.length];
      const socket = new WebSocket(options.url, {
        perMessageDeflate: false,
        localAddress: options.localAddress,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      // Frames (a backlog, if any) are read and dropped.
      socket.on('message', () => undefined);
      try {
        await new Promise((resolve, reject) => {
          socket.once('open', resolve);
          socket.once('error', reject);
          socket.once('unexpected-response', (_request, response) =>
            reject(new Error(`answered ${response.statusCode}`)),
          );
        });
        socket.on('error', () => undefined);
        sockets.push(socket);
      } catch (error) {
        failures++;
        firstFailure ??= (error as Error).message;
        socket.terminate();
      }
    });
    return { open: handlers.open().open, failures, firstFailure };
  },

  open: () => ({ open: sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length }),

  closeAll() {
    for (const socket of sockets) socket.terminate();
    sockets.length = 0;
    return {};
  },
};

export function close(): Promise<void> {
  for (const socket of sockets) socket.terminate();
  return Promise.resolve();
}
