import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import WebSocket from 'ws';
import { abuseRuns, malformedJson, malformedUuid } from '../support/abuse/generators.js';
import { snapshotState, stateChanges } from '../support/abuse/state.js';
import { abuseOverrides, type AbuseCast, createCast } from '../support/abuse/world.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// Generated bad client frames on /v1/stream: each gets an error frame, the
// socket stays open, and nothing changes.
const RUNS = abuseRuns(40) * 5;

type Frame = { data: string | Buffer; binary: boolean };
const text = (value: unknown): Frame => ({
  data: typeof value === 'string' ? value : JSON.stringify(value),
  binary: false,
});

const badFrame: fc.Arbitrary<Frame> = fc.oneof(
  malformedJson('{"type":"ack","messageIds":[]}').map(text),
  fc
    .oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 1 })))
    .map(text),
  fc
    .string({ maxLength: 20 })
    .filter((type) => type !== 'ack')
    .map((type) => text({ type, messageIds: [randomUUID()] })),
  fc.constant(null).map(() => text({ type: 'ack' })),
  fc.constant(null).map(() => text({ type: 'ack', messageIds: [] })),
  // Over 1,000 ids yet under the 64 KiB frame limit (larger frames: below).
  fc
    .integer({ min: 1001, max: 1600 })
    .map((length) => text({ type: 'ack', messageIds: Array.from({ length }, () => randomUUID()) })),
  fc
    .array(malformedUuid, { minLength: 1, maxLength: 5 })
    .map((ids) => text({ type: 'ack', messageIds: [randomUUID(), ...ids] })),
  fc.constant(null).map(() => text({ type: 'ack', messageIds: [randomUUID()], extra: 1 })),
  fc.constant(null).map(() => text({ type: 'ACK', messageIds: [randomUUID()] })),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ data: Buffer.from(bytes), binary: true })),
  fc.constant(null).map(() => ({
    data: Buffer.from(JSON.stringify({ type: 'ack', messageIds: [randomUUID()] })),
    binary: true,
  })),
);

describe('generated bad frames on the stream get an error frame and change nothing', () => {
  let world: TestApp;
  let cast: AbuseCast;

  beforeAll(async () => {
    world = await startTestApp(abuseOverrides());
    cast = await createCast(world);
  }, 60_000);
  afterAll(() => world?.close());

  it('answers every bad frame with an error frame and keeps the socket open', async () => {
    const socket = new WebSocket(`${world.baseUrl.replace(/^http/, 'ws')}/v1/stream`, {
      headers: { authorization: `Bearer ${cast.alice.currentToken}` },
    });
    const errors: unknown[] = [];
    let waiting: ((frame: unknown) => void) | undefined;
    socket.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString('utf8')) as { type: string };
      if (frame.type !== 'error') return;
      if (waiting) waiting(frame);
      else errors.push(frame);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const before = await snapshotState(world);
    await fc.assert(
      fc.asyncProperty(badFrame, async (frame) => {
        const answer = new Promise<unknown>((resolve, reject) => {
          waiting = resolve;
          socket.once('close', (code) => reject(new Error(`socket closed with ${code}`)));
        });
        socket.send(frame.data, { binary: frame.binary });
        const error = (await answer) as { code?: unknown };
        waiting = undefined;
        expect(typeof error.code).toBe('string');
        expect(socket.readyState).toBe(WebSocket.OPEN);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    expect(errors).toEqual([]);
    socket.close();
    expect(stateChanges(before, await snapshotState(world))).toEqual([]);
  }, 120_000);

  it.each([
    {
      name: 'a frame over 64 KiB',
      frame: JSON.stringify({
        type: 'ack',
        messageIds: Array.from({ length: 3000 }, () => randomUUID()),
      }),
      code: 1009,
    },
    {
      name: 'a text frame that is not UTF-8',
      frame: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      code: 1007,
    },
  ])(
    'closes a socket that sends $name with $code (documented), and keeps serving',
    async ({ frame, code }) => {
      const socket = new WebSocket(`${world.baseUrl.replace(/^http/, 'ws')}/v1/stream`, {
        headers: { authorization: `Bearer ${cast.alice.currentToken}` },
      });
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const before = await snapshotState(world);
      const closed = new Promise<number>((resolve) => socket.once('close', resolve));
      socket.send(frame, { binary: false });
      expect(await closed).toBe(code);
      expect((await fetch(`${world.baseUrl}/health/ready`)).status).toBe(200);
      expect(stateChanges(before, await snapshotState(world))).toEqual([]);
    },
  );
});
