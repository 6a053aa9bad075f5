import { randomBytes, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import {
  fromBase64,
  type ReceivedMessage,
  signChallenge,
  SupernodeClient,
  toBase64,
} from '@supernode/client';
import { newAccount } from '../factories/accounts.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { rawCall, sealedSend } from '../support/raw-send.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

/**
 * Every secret the run handles, in each form it could be written in: as
 * given, and for bytes also base64, base64url and hex.
 */
class Secrets {
  private readonly forms = new Map<string, string>();

  text(what: string, value: string): void {
    this.forms.set(value, what);
  }

  bytes(what: string, value: Uint8Array): void {
    const buffer = Buffer.from(value);
    this.forms.set(buffer.toString('base64'), `${what} (base64)`);
    this.forms.set(buffer.toString('base64url'), `${what} (base64url)`);
    this.forms.set(buffer.toString('hex'), `${what} (hex)`);
  }

  token(what: string, token: string): void {
    this.text(what, token);
    this.text(`${what}'s secret`, token.split('.')[1]);
  }

  /** The secrets found in `output`, named. */
  foundIn(output: string): string[] {
    return [...this.forms].filter(([form]) => output.includes(form)).map(([, what]) => what);
  }

  get count(): number {
    return this.forms.size;
  }
}

async function post(baseUrl: string, path: string, body: unknown, token?: string) {
  const response = await fetch(new URL(path, baseUrl), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

/** Opens a raw socket, sends the frames, waits for an answer to each (or the close); the close code. */
async function sendFrames(url: string, frames: (string | Buffer)[]): Promise<number | null> {
  const socket = new WebSocket(url);
  let answers = 0;
  let closeCode: number | null = null;
  socket.on('message', () => (answers += 1));
  socket.on('close', (code) => (closeCode = code));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    socket.once('open', () => resolve());
    socket.once('close', () => resolve());
  });
  if (socket.readyState === WebSocket.OPEN) {
    for (const frame of frames) socket.send(frame);
    // No frames: the server is expected to close by itself.
    await waitFor(
      'an answer to every frame, or the close',
      () => closeCode !== null || (frames.length > 0 && answers >= frames.length),
    );
    socket.close();
  }
  await waitFor('the close', () => closeCode !== null);
  return closeCode;
}

const TURN_SECRET = `turn-${randomBytes(16).toString('hex')}`;

describe('no secret reaches the logs', () => {
  let world: TestEnv;
  let server: ServerProcess;
  const secrets = new Secrets();

  beforeAll(async () => {
    // verbose: every log line the server can write.
    world = await createTestEnv({
      LOG_LEVEL: 'verbose',
      TURN_URLS: 'turn:turn.logs.test:3478',
      TURN_SECRET: TURN_SECRET,
      PUSH_ALLOWED_HOSTS: 'push.logs.test',
    });
    server = await startServerProcess(world.env, 'all', await freePort());
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await world?.destroy();
  });

  it('holds through normal traffic, bad input, forged and expired tokens, and a failing database', async () => {
    const baseUrl = server.baseUrl;
    const alice = await newAccount(baseUrl, 'alice');
    const bob = await newAccount(baseUrl, 'bob');
    for (const [name, client] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      secrets.bytes(`${name}'s signing secret key`, client.identity.keys.signingSecretKey);
      secrets.bytes(`${name}'s box secret key`, client.identity.keys.boxSecretKey);
      secrets.token(`${name}'s token`, client.currentToken!);
    }

    // Linking a second device: the link code is a secret.
    const { code } = await alice.createLinkCode();
    secrets.text('link code', code);
    const laptop = await SupernodeClient.linkDevice(baseUrl, code, { deviceName: 'laptop' });
    secrets.bytes("laptop's signing secret key", laptop.identity.keys.signingSecretKey);
    secrets.token("laptop's token", laptop.currentToken!);

    // A login by hand: the challenge and its signature are secrets too.
    const challenge = await post(baseUrl, '/v1/auth/challenge', { deviceId: bob.deviceId });
    const signature = signChallenge(
      fromBase64(challenge.body.challenge),
      bob.identity.keys.signingSecretKey,
    );
    secrets.bytes('challenge', fromBase64(challenge.body.challenge));
    secrets.bytes('challenge signature', signature);
    const login = await post(baseUrl, '/v1/auth/token', {
      deviceId: bob.deviceId,
      challenge: challenge.body.challenge,
      signature: toBase64(signature),
    });
    expect(login.status).toBe(200);
    secrets.token("bob's second token", login.body.token);

    // Bob listens; Alice sends through the SDK and by hand (the body and keys known here).
    const received: ReceivedMessage[] = [];
    const stream = await bob.connect({ onMessage: (message) => void received.push(message) });
    const plaintext = `secret text ${randomUUID()}`;
    secrets.text('plaintext', plaintext);
    await alice.sendText({ accountId: bob.accountId }, plaintext);
    const recipients = [
      ...(await alice.devicesOf(bob.accountId)).devices,
      ...(await alice.devicesOf(alice.accountId)).devices.filter(
        (device) => device.deviceId !== alice.deviceId,
      ),
    ];
    const sealed = sealedSend(alice, { accountId: bob.accountId }, recipients);
    secrets.bytes('message body', fromBase64(sealed.body));
    for (const key of sealed.keys) secrets.bytes('wrapped key', fromBase64(key.wrappedKey));
    expect((await rawCall(alice, 'POST', '/v1/messages', sealed)).status).toBe(201);
    await waitFor('both messages at Bob', () => received.length >= 2);

    // An ephemeral send by hand: its body and keys go through Redis, never to a log.
    const ephemeral = sealedSend(alice, { accountId: bob.accountId }, recipients);
    secrets.bytes('ephemeral body', fromBase64(ephemeral.body));
    for (const key of ephemeral.keys)
      secrets.bytes('ephemeral wrapped key', fromBase64(key.wrappedKey));
    expect(
      (await rawCall(alice, 'POST', '/v1/messages', { ...ephemeral, ephemeral: true })).status,
    ).toBe(201);
    await waitFor('the ephemeral one at Bob', () => received.length >= 3);

    // TURN: the shared secret and an issued credential.
    secrets.text('TURN secret', TURN_SECRET);
    secrets.text('TURN credential', (await alice.turnCredentials()).credential);

    // A push subscription (its endpoint is a capability URL); its pushes fail
    // (the host does not resolve) and are retried: logged, without it.
    const endpoint = `https://push.logs.test/send/${randomBytes(24).toString('base64url')}`;
    const pushAuth = randomBytes(16);
    secrets.text('push endpoint', endpoint);
    secrets.text("push endpoint's path", new URL(endpoint).pathname);
    secrets.bytes('push auth secret', pushAuth);
    await laptop.registerPush({
      endpoint,
      keys: {
        p256dh: Buffer.concat([Buffer.from([4]), randomBytes(64)]).toString('base64url'),
        auth: pushAuth.toString('base64url'),
      },
    });

    // The laptop reads and acks over HTTP.
    const inbox = await laptop.fetchInbox();
    expect(await laptop.ack(inbox.messages.map((message) => message.messageId))).toBe(2);

    // Bad input that carries secrets: an unknown field beside a real body and
    // key, a wrong signature, a used link code.
    const badSend = await rawCall(alice, 'POST', '/v1/messages', { ...sealed, extra: sealed.body });
    expect(badSend.status).toBe(400);
    const wrongSignature = randomBytes(64);
    secrets.bytes('wrong signature', wrongSignature);
    const badLogin = await post(baseUrl, '/v1/auth/token', {
      deviceId: bob.deviceId,
      challenge: challenge.body.challenge,
      signature: wrongSignature.toString('base64'),
    });
    expect(badLogin.status).toBe(401);
    expect((await post(baseUrl, '/v1/devices', { code, device: {} })).status).toBe(400);

    // Forged and expired tokens, over HTTP and on the stream (in the URL too).
    const forged = `${alice.deviceId}.${randomBytes(32).toString('base64url')}`;
    secrets.token('forged token', forged);
    const forgedAnswer = await fetch(new URL('/v1/devices', baseUrl), {
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(forgedAnswer.status).toBe(401);
    await world.pool.query(
      `UPDATE auth_tokens SET expires_at = now() - interval '1 minute' WHERE device_id = $1`,
      [laptop.deviceId],
    );
    const streamUrl = baseUrl.replace('http', 'ws') + '/v1/stream';
    expect(await sendFrames(`${streamUrl}?token=${encodeURIComponent(forged)}`, [])).toBe(4401);
    expect(
      await sendFrames(`${streamUrl}?token=${encodeURIComponent(laptop.currentToken!)}`, []),
    ).toBe(4401);

    // Bad frames on a good socket, with the secret token in the URL.
    await sendFrames(`${streamUrl}?token=${encodeURIComponent(login.body.token)}`, [
      'not json',
      JSON.stringify({ type: 'ack', messageIds: [sealed.body] }),
      JSON.stringify({ type: 'nope', body: sealed.body }),
      Buffer.from(sealed.body),
    ]);

    // A database that fails mid-request: the ack's statement finds no table.
    await world.pool.query('DROP TABLE message_receipts CASCADE');
    await alice.sendText({ accountId: bob.accountId }, plaintext);
    const pending = await waitFor('a fourth message at Bob', () => received[3]);
    const failedAck = await rawCall(bob, 'POST', '/v1/inbox/ack', {
      messageIds: [pending.messageId],
    });
    expect(failedAck.status).toBeGreaterThanOrEqual(500);
    expect(failedAck.contentType).toContain('application/problem+json');

    await stream.close();
    await server.stop();
    const output = server.output();
    // Control: the capture holds the server's lines, the failure's among them.
    expect(output).toContain('listening on');
    expect(output).toMatch(/message_receipts/);
    expect(secrets.count).toBeGreaterThan(30);
    expect(secrets.foundIn(output)).toEqual([]);
  }, 60_000);
});
