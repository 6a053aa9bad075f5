import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { MessageStream } from './message-stream.js';

// A bare ws server standing in for /v1/stream: it counts upgrade attempts
// and refuses the first `refusals` of them with HTTP 503.
async function streamServer(refusals: number, closeCode?: number) {
  let attempts = 0;
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    attempts++;
    if (attempts <= refusals) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (closeCode !== undefined && attempts > 1) ws.close(closeCode);
      else wss.emit('connection', ws, request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/v1/stream`,
    attempts: () => attempts,
    dropAll: () => wss.clients.forEach((ws) => ws.terminate()),
    close: async () => {
      wss.clients.forEach((ws) => ws.terminate());
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const hostFor = (url: string) => ({
  streamUrl: () => url,
  freshToken: () => Promise.resolve('token'),
  decrypt: () => Promise.reject(new Error('no messages in this test')),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('MessageStream', () => {
  it('rejects when its first connection fails, and does not go on reconnecting', async () => {
    const server = await streamServer(1);
    const stream = new MessageStream(
      hostFor(server.url),
      { onMessage: () => undefined },
      { minReconnectDelayMs: 5, maxReconnectDelayMs: 5 },
    );
    try {
      await expect(stream.open()).rejects.toThrow();
      await sleep(200);
      expect(server.attempts()).toBe(1);
      expect(stream.isOpen).toBe(false);
    } finally {
      await stream.close();
      await server.close();
    }
  });

  it('reconnects by itself when an open connection is lost', async () => {
    const server = await streamServer(0);
    let connects = 0;
    const stream = new MessageStream(
      hostFor(server.url),
      { onMessage: () => undefined, onConnect: () => connects++ },
      { minReconnectDelayMs: 5, maxReconnectDelayMs: 5 },
    );
    try {
      await stream.open();
      server.dropAll();
      for (let waited = 0; connects < 2 && waited < 2000; waited += 10) await sleep(10);
      expect(connects).toBe(2);
      expect(stream.isOpen).toBe(true);
    } finally {
      await stream.close();
      await server.close();
    }
  });

  it('stops for good when a newer stream of its device replaced it (4409)', async () => {
    const server = await streamServer(0, 4409);
    const errors: string[] = [];
    const stream = new MessageStream(
      hostFor(server.url),
      { onMessage: () => undefined, onError: (error) => errors.push(error.message) },
      { minReconnectDelayMs: 5, maxReconnectDelayMs: 5 },
    );
    try {
      await stream.open();
      server.dropAll(); // the second connection is closed with 4409
      for (let waited = 0; errors.length === 0 && waited < 2000; waited += 10) await sleep(10);
      await sleep(100);
      expect([server.attempts(), errors]).toEqual([
        2,
        ['a newer stream of this device replaced this one'],
      ]);
    } finally {
      await stream.close();
      await server.close();
    }
  });

  it('hands a message that comes twice to onMessage once, says so to onDuplicate, and acks both', async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    const acked: string[] = [];
    const frame = JSON.stringify({ type: 'message', message: { messageId: 'm1' } });
    wss.on('connection', (ws) => {
      ws.on('message', (data) =>
        acked.push(
          ...(JSON.parse((data as Buffer).toString()) as { messageIds: string[] }).messageIds,
        ),
      );
      ws.send(frame);
      ws.send(frame);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const handled: string[] = [];
    const duplicates: string[] = [];
    const stream = new MessageStream(
      {
        streamUrl: () => `ws://127.0.0.1:${port}/v1/stream`,
        freshToken: () => Promise.resolve('token'),
        decrypt: (message) => Promise.resolve(message as never),
      },
      {
        onMessage: (message) => void handled.push(message.messageId),
        onDuplicate: (messageId) => duplicates.push(messageId),
      },
      { ackDelayMs: 1 },
    );
    try {
      await stream.open();
      for (let waited = 0; acked.length < 2 && waited < 2000; waited += 10) await sleep(10);
      expect({ handled, duplicates, acked }).toEqual({
        handled: ['m1'],
        duplicates: ['m1'],
        acked: ['m1', 'm1'],
      });
    } finally {
      await stream.close();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
