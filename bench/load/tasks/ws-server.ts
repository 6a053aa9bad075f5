import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { monoMs, sleep } from '../../lib/clock.js';
import { frameTemplate } from '../../ceilings/frames.js';

// The raw frame ceiling's server: a bare `ws` server (perMessageDeflate off,
// as the real gateway) pushing InboxMessage-shaped JSON frames with a 1 KiB body.
const HIGH_WATER_BYTES = 1024 * 1024;

let server: http.Server | undefined;
const sockets: WebSocket[] = [];
const template = frameTemplate();

const frame = (t: number, round = -1) => template.replace('"t":0', `"t":${t},"round":${round}`);

export const handlers = {
  async listen() {
    server = http.createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 1024 * 1024 });
    wss.on('connection', (socket) => {
      sockets.push(socket);
      socket.on('error', () => socket.terminate());
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port };
  },

  clients: () => ({ count: sockets.length }),

  /** Round-robin as fast as the sockets drain, for `durationMs`. */
  async throughput({ durationMs, targets }: { durationMs: number; targets?: number }) {
    const set = sockets.slice(0, targets ?? sockets.length);
    const end = monoMs() + durationMs;
    let sent = 0;
    let index = 0;
    while (monoMs() < end) {
      for (let batch = 0; batch < 256; batch++) {
        const socket = set[index++ % set.length];
        if (socket.bufferedAmount > HIGH_WATER_BYTES) continue;
        socket.send(frame(monoMs()));
        sent++;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { sent };
  },

  /** A fixed total rate round-robin; each frame carries its due time. */
  async fixedRate({ rate, durationMs }: { rate: number; durationMs: number }) {
    const interval = 1000 / rate;
    const total = Math.round((rate * durationMs) / 1000);
    const start = monoMs() + 5;
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor((monoMs() - start) / interval) + 1);
      while (sent < due) {
        sockets[sent % sockets.length].send(frame(start + sent * interval));
        sent++;
      }
      await sleep(1);
    }
    return { sent };
  },

  /** One frame to every socket per round: how long until the last one has it. */
  async broadcast({ rounds, gapMs }: { rounds: number; gapMs: number }) {
    for (let round = 0; round < rounds; round++) {
      const text = frame(monoMs(), round);
      for (const socket of sockets) socket.send(text);
      await sleep(gapMs);
    }
    return { rounds };
  },

  /** `count` frames to the first socket as fast as it drains (a catch-up's shape). */
  async burst({ count }: { count: number }) {
    const socket = sockets[0];
    for (let sent = 0; sent < count;) {
      if (socket.bufferedAmount > HIGH_WATER_BYTES) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      socket.send(frame(monoMs(), -2));
      sent++;
    }
    return { sent: count };
  },
};

export async function close(): Promise<void> {
  for (const socket of sockets) socket.terminate();
  await new Promise((resolve) => server?.close(resolve));
}
