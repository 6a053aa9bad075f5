import { connect as connectTcp } from 'node:net';
import type { Redis } from 'ioredis';
import WebSocket from 'ws';
import { REDIS } from '../../src/redis/redis.module.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Writes `request` on a fresh TCP connection; resolves with all the server wrote once it closes. */
function rawExchange(port: number, request: string, reset = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => reject(new Error(`no close after ${request.slice(0, 60)}`)));
    socket.write(request, () => {
      // A client that resets while its token is being checked.
      if (reset) socket.resetAndDestroy();
    });
  });
}

function upgradeRequest(
  target: string,
  headers: Record<string, string | undefined> = {},
  method = 'GET',
): string {
  const all: Record<string, string | undefined> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': KEY,
    ...headers,
  };
  const lines = Object.entries(all)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}: ${value}\r\n`);
  return `${method} ${target} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
}

/** A raw socket on the stream; `frames` records what it is sent, `closed` its close code. */
function openStream(url: string, token: string | undefined) {
  const frames: { type: string; code?: string; retryAfter?: number }[] = [];
  const socket = new WebSocket(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  socket.on('message', (data) => frames.push(JSON.parse((data as Buffer).toString('utf8'))));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  const opened = new Promise<void>((resolve) => socket.once('open', () => resolve()));
  return { socket, frames, closed, opened };
}

describe('the stream under hostile clients', () => {
  let world: TestApp;
  let streamUrl: string;
  let port: number;
  beforeAll(async () => {
    world = await startTestApp({ WS_HEARTBEAT_SECONDS: '1' });
    streamUrl = `${world.baseUrl.replace('http', 'ws')}/v1/stream`;
    port = Number(new URL(world.baseUrl).port);
  });
  afterAll(() => world.close());

  it('answers every malformed upgrade with a 4xx and a closed connection, and stays up', async () => {
    const cases: [string, string, number][] = [
      ['an absolute target with a bad port', upgradeRequest('http://x:99999/v1/stream'), 400],
      ['an absolute target that is no URL', upgradeRequest('http://[::1/v1/stream'), 400],
      ['bad percent-encoding in the query', upgradeRequest('/v1/stream?token=%zz%'), 101],
      ['bad percent-encoding in the path', upgradeRequest('/v1/%zz/stream'), 404],
      ['a long query', upgradeRequest(`/v1/stream?token=${'a'.repeat(6000)}`), 414],
      ['a query past the header limit', upgradeRequest(`/v1/stream?t=${'a'.repeat(100_000)}`), 431],
      ['a POST', upgradeRequest('/v1/stream', {}, 'POST'), 405],
      ['another protocol', upgradeRequest('/v1/stream', { Upgrade: 'h2c' }), 400],
      ['no key', upgradeRequest('/v1/stream', { 'Sec-WebSocket-Key': undefined }), 400],
      ['a short key', upgradeRequest('/v1/stream', { 'Sec-WebSocket-Key': 'c2hvcnQ=' }), 400],
      ['no version', upgradeRequest('/v1/stream', { 'Sec-WebSocket-Version': undefined }), 426],
      ['version 8', upgradeRequest('/v1/stream', { 'Sec-WebSocket-Version': '8' }), 426],
      ['no Host', upgradeRequest('/v1/stream', { Host: undefined }), 400],
    ];
    const answers: [string, number][] = [];
    for (const [name, request] of cases)
      answers.push([name, statusOf(await rawExchange(port, request))]);
    // 101 for a token that does not decode: the upgrade completes and closes with 4401.
    expect(answers).toEqual(cases.map(([name, , status]) => [name, status]));

    // Clients that reset while their token is checked.
    const alice = await newAccount(world.baseUrl, 'alice');
    await Promise.all(
      Array.from({ length: 10 }, () =>
        rawExchange(
          port,
          upgradeRequest('/v1/stream', { Authorization: `Bearer ${alice.currentToken}` }),
          true,
        ).catch(() => ''),
      ),
    );

    const ready = await fetch(`${world.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    const bob = await newAccount(world.baseUrl, 'bob');
    await expect(alice.sendText({ accountId: bob.accountId }, 'still here')).resolves.toMatchObject(
      {
        messageId: expect.any(String),
      },
    );
    const stream = openStream(streamUrl, bob.currentToken);
    await stream.opened;
    await waitFor('the message on a new stream', () => stream.frames.length === 1);
    stream.socket.close();
  });

  it('answers a malformed upgrade with problem+json', async () => {
    const answer = await rawExchange(port, upgradeRequest('http://x:99999/v1/stream'));
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(body)).toMatchObject({ status: 400, code: 'bad_request_target' });
  });

  it('closes a revoked device’s stream within a heartbeat though no notice reached it (4403)', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const phone = await linkDevice(alice, 'phone');
    const stream = openStream(streamUrl, phone.currentToken);
    await stream.opened;
    // Revoked behind the server's back: no after-commit hook, no pub/sub notice.
    await world.pool.query(`UPDATE devices SET revoked_at = now() WHERE id = $1`, [phone.deviceId]);
    await world.pool.query(`DELETE FROM auth_tokens WHERE device_id = $1`, [phone.deviceId]);
    expect(await stream.closed).toBe(4403);
  });

  it('closes a stream whose token expired while it was open (4401)', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const stream = openStream(streamUrl, alice.currentToken);
    await stream.opened;
    await world.pool.query(
      `UPDATE auth_tokens SET expires_at = now() - interval '1 second' WHERE device_id = $1`,
      [alice.deviceId],
    );
    expect(await stream.closed).toBe(4401);
  });

  it('answers a revocation 204 though its notice cannot be published, and closes the stream held here', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const phone = await linkDevice(alice, 'phone');
    const stream = openStream(streamUrl, phone.currentToken);
    await stream.opened;
    // Delivered live: the stream's opening (presence, catch-up) is over.
    await alice.sendText({ accountId: alice.accountId }, 'to my phone');
    await waitFor('the live message', () => stream.frames.length === 1);
    const redis = world.app.get<Redis>(REDIS);
    redis.disconnect(); // no offline queue: every publish now fails at once
    try {
      const answer = await fetch(`${world.baseUrl}/v1/devices/${phone.deviceId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${alice.currentToken}` },
      });
      expect(answer.status).toBe(204);
      expect(await stream.closed).toBe(4403);
    } finally {
      await redis.connect();
    }
    const devices = await alice.listDevices();
    expect(devices.map((device) => device.deviceId)).toEqual([alice.deviceId]);
  });

  it('refuses client frames larger than an ack of 1,000 ids needs (1009), and takes that ack', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const stream = openStream(streamUrl, alice.currentToken);
    await stream.opened;
    const ids = Array.from({ length: 1000 }, () => crypto.randomUUID());
    stream.socket.send(JSON.stringify({ type: 'ack', messageIds: ids }));
    stream.socket.send(JSON.stringify({ type: 'ack', messageIds: [...ids, ...ids] }));
    expect(await stream.closed).toBe(1009);
    // The first, full-size ack was taken: no error frame came for it.
    expect(stream.frames).toEqual([]);
  });
});

describe('stream limits per device, per account and per process', () => {
  let world: TestApp;
  let streamUrl: string;
  beforeAll(async () => {
    world = await startTestApp({
      MAX_STREAMS_PER_DEVICE: '2',
      MAX_STREAMS_PER_PROCESS: '4',
      RATE_LIMIT_STREAM_CONNECT: '3',
      RATE_LIMIT_ACK: '2',
      PAGE_MAX_BYTES: String(64 * 1024),
    });
    streamUrl = `${world.baseUrl.replace('http', 'ws')}/v1/stream`;
  });
  afterAll(() => world.close());

  it('closes the oldest stream of a device (4409) when one more opens', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const first = openStream(streamUrl, alice.currentToken);
    await first.opened;
    const second = openStream(streamUrl, alice.currentToken);
    await second.opened;
    const third = openStream(streamUrl, alice.currentToken);
    await third.opened;
    expect(await first.closed).toBe(4409);
    expect([second.socket.readyState, third.socket.readyState]).toEqual([
      WebSocket.OPEN,
      WebSocket.OPEN,
    ]);
    second.socket.close();
    third.socket.close();
    await Promise.all([second.closed, third.closed]);
  });

  it('refuses stream connects over the account’s rate (4429, with retryAfter), other accounts unaffected', async () => {
    const bob = await newAccount(world.baseUrl, 'bob');
    const carol = await newAccount(world.baseUrl, 'carol');
    for (let index = 0; index < 3; index++) {
      const stream = openStream(streamUrl, bob.currentToken);
      await stream.opened;
      stream.socket.close();
      await stream.closed;
    }
    const refused = openStream(streamUrl, bob.currentToken);
    expect(await refused.closed).toBe(4429);
    expect(refused.frames).toEqual([
      expect.objectContaining({
        type: 'error',
        code: 'rate_limited',
        retryAfter: expect.any(Number),
      }),
    ]);
    const other = openStream(streamUrl, carol.currentToken);
    await other.opened;
    other.socket.close();
    await other.closed;
  });

  it('answers acks over the account’s rate: 429 with Retry-After over HTTP, rate_limited frames on the stream', async () => {
    const dave = await newAccount(world.baseUrl, 'dave');
    const erin = await newAccount(world.baseUrl, 'erin');
    const sent = await erin.sendText({ accountId: dave.accountId }, 'ack me');
    expect(await dave.ack([crypto.randomUUID()])).toBe(0);
    const stream = openStream(streamUrl, dave.currentToken);
    await stream.opened;
    await waitFor('the message', () => stream.frames.length === 1);
    stream.socket.send(JSON.stringify({ type: 'ack', messageIds: [crypto.randomUUID()] }));
    stream.socket.send(JSON.stringify({ type: 'ack', messageIds: [sent.messageId] }));
    await waitFor('an error frame', () => stream.frames.length === 2);
    expect(stream.frames[1]).toMatchObject({
      type: 'error',
      code: 'rate_limited',
      retryAfter: expect.any(Number),
    });
    const answer = await fetch(`${world.baseUrl}/v1/inbox/ack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dave.currentToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messageIds: [sent.messageId] }),
    });
    expect(answer.status).toBe(429);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(answer.headers.get('content-type')).toMatch(/application\/problem\+json/);
    // Refused, so not acked: the message is still pending.
    expect((await dave.fetchInbox()).messages.map((message) => message.messageId)).toEqual([
      sent.messageId,
    ]);
    stream.socket.close();
    await stream.closed;
  });

  it('refuses upgrades past the process’s stream cap with 503 and Retry-After', async () => {
    const accounts = await Promise.all(
      Array.from({ length: 4 }, () => newAccount(world.baseUrl, 'cap')),
    );
    const streams = accounts.map((account) => openStream(streamUrl, account.currentToken));
    await Promise.all(streams.map((stream) => stream.opened));
    const extra = await newAccount(world.baseUrl, 'extra');
    const refused = await new Promise<{ status: number; retryAfter: string | undefined }>(
      (resolve) => {
        const socket = new WebSocket(streamUrl, {
          headers: { authorization: `Bearer ${extra.currentToken}` },
        });
        socket.on('unexpected-response', (_request, response) => {
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: response.headers['retry-after'],
          });
          socket.terminate();
        });
        socket.on('error', () => undefined);
      },
    );
    expect(refused.status).toBe(503);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    for (const stream of streams) stream.socket.close();
    await Promise.all(streams.map((stream) => stream.closed));
    const after = openStream(streamUrl, extra.currentToken);
    await after.opened;
    after.socket.close();
    await after.closed;
  });

  it('caps inbox and catch-up pages by bytes as well as count, with more: true when bytes cut a page', async () => {
    const frank = await newAccount(world.baseUrl, 'frank');
    const grace = await newAccount(world.baseUrl, 'grace');
    // Each some 40 KB of base64: one fits a page of 64 KiB, two do not.
    const sent = [];
    for (let index = 0; index < 3; index++)
      sent.push(await grace.sendText({ accountId: frank.accountId }, `${index}`.repeat(30_000)));
    const first = await frank.fetchInbox(100);
    expect([first.messages.map((message) => message.messageId), first.more]).toEqual([
      [sent[0].messageId],
      true,
    ]);
    // The stream pages on past the byte cap and sends all of them, in order.
    const stream = openStream(streamUrl, frank.currentToken);
    await stream.opened;
    await waitFor('the backlog', () => stream.frames.length === 3);
    expect(
      stream.frames.map(
        (frame) => (frame as { message?: { messageId: string } }).message?.messageId,
      ),
    ).toEqual(sent.map((accepted) => accepted.messageId));
    stream.socket.close();
    await stream.closed;
  });
});
