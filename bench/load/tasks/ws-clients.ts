import WebSocket from 'ws';
import { mapLimit } from '../../lib/drivers.js';
import { monoMs } from '../../lib/clock.js';
import { LatencyRecorder } from '../../lib/latency.js';

// The raw frame ceiling's clients: plain `ws` sockets that parse every frame
// (as any client must) and record send→receive on the shared monotonic clock.
const sockets: WebSocket[] = [];
let recording = false;
let frames = 0;
let firstAt = 0;
let lastAt = 0;
const latencies = new LatencyRecorder();
const roundLast = new Map<number, number>();

function onFrame(data: Buffer): void {
  const now = monoMs();
  const frame = JSON.parse(data.toString('utf8')) as { message: { t: number; round: number } };
  if (!recording) return;
  const latency = now - frame.message.t;
  frames++;
  if (firstAt === 0) firstAt = now;
  lastAt = now;
  if (frame.message.round >= 0) {
    roundLast.set(frame.message.round, Math.max(roundLast.get(frame.message.round) ?? 0, latency));
  } else {
    latencies.record(latency);
  }
}

export const handlers = {
  async connect({
    url,
    count,
    localAddress,
  }: {
    url: string;
    count: number;
    localAddress?: string;
  }) {
    await mapLimit(Array.from({ length: count }), 100, async () => {
      const socket = new WebSocket(url, { perMessageDeflate: false, localAddress });
      socket.on('message', onFrame);
      socket.on('error', () => undefined);
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      sockets.push(socket);
    });
    return { connected: sockets.length };
  },

  startRecording() {
    recording = true;
    frames = 0;
    firstAt = 0;
    lastAt = 0;
    latencies.reset();
    roundLast.clear();
    return {};
  },

  frames: () => ({ frames }),

  stopRecording() {
    recording = false;
    return {
      frames,
      firstAt,
      lastAt,
      latencies: latencies.values(),
      rounds: [...roundLast.entries()],
    };
  },
};

export function close(): Promise<void> {
  for (const socket of sockets) socket.terminate();
  return Promise.resolve();
}
