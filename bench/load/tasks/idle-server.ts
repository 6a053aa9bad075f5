import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

// The raw idle-socket ceiling's server: a bare `ws` server (perMessageDeflate
// off) that keeps each accepted socket in a Set and does nothing else.
let server: http.Server | undefined;
const sockets = new Set<WebSocket>();

export const handlers = {
  async listen() {
    server = http.createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.terminate());
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', 4096, resolve));
    return { port: (server.address() as AddressInfo).port, pid: process.pid };
  },
  count: () => ({ sockets: sockets.size }),
};

export async function close(): Promise<void> {
  for (const socket of sockets) socket.terminate();
  await new Promise((resolve) => server?.close(resolve));
}
