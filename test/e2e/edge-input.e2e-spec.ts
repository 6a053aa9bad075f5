import { randomBytes, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { signChallenge, toBase64, type SupernodeClient } from '@supernode/client';
import { sendBodyLimit } from '../../src/config/request-limits.js';
import { SEAL_OVERHEAD_BYTES } from '../../src/messages/at-rest/sealing.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { openRaw } from '../support/raw-http.js';
import { rawCall, sealedSend } from '../support/raw-send.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { tableCounts } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

const TABLES = ['accounts', 'devices', 'auth_tokens', 'link_codes', 'messages', 'conversations'];

// Small maxima, so that a group at the limit is quick to build.
const MEMBERS = 5;
const DEVICES = 3;
const MAX_BODY = 2048;

describe('input at the HTTP edge: framework errors, canonical ids, limits that agree', () => {
  let world: TestApp;
  let alice: SupernodeClient;
  let bob: SupernodeClient;

  beforeAll(async () => {
    world = await startTestApp({
      MAX_CONVERSATION_MEMBERS: String(MEMBERS),
      MAX_DEVICES_PER_ACCOUNT: String(DEVICES),
      MAX_BODY_BYTES: String(MAX_BODY),
    });
    alice = await newAccount(world.baseUrl, 'alice');
    bob = await newAccount(world.baseUrl, 'bob');
  });
  afterAll(() => world.close());

  const upper = (id: string) => id.toUpperCase();

  describe('framework errors are problem+json and change nothing', () => {
    const json = { 'content-type': 'application/json' };
    const cases: {
      name: string;
      method?: string;
      path: string;
      headers?: Record<string, string>;
      body?: string;
      status: number;
      code: string;
    }[] = [
      {
        name: 'a URL that is not percent-encoded',
        path: '/%zz',
        status: 400,
        code: 'malformed_url',
      },
      {
        name: 'a path parameter that is not percent-encoded',
        path: '/v1/devices/%zz',
        method: 'DELETE',
        status: 400,
        code: 'malformed_url',
      },
      {
        name: 'a path parameter far too long',
        path: `/v1/devices/${'a'.repeat(300)}`,
        method: 'DELETE',
        status: 414,
        code: 'uri_too_long',
      },
      { name: 'an unknown route', path: '/v1/nothing', status: 404, code: 'not_found' },
      {
        name: 'a route with the wrong method',
        path: '/v1/accounts',
        method: 'PUT',
        status: 404,
        code: 'not_found',
      },
      {
        name: 'a text/plain body',
        path: '/v1/accounts',
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'handle=x',
        status: 415,
        code: 'unsupported_media_type',
      },
      {
        name: 'a form body',
        path: '/v1/accounts',
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'handle=x',
        status: 415,
        code: 'unsupported_media_type',
      },
      {
        name: 'an empty JSON body where a body is needed',
        path: '/v1/accounts',
        method: 'POST',
        headers: json,
        body: '',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'an empty JSON body to a login',
        path: '/v1/auth/challenge',
        method: 'POST',
        headers: json,
        body: '',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'malformed JSON',
        path: '/v1/accounts',
        method: 'POST',
        headers: json,
        body: '{"handle":',
        status: 400,
        code: 'malformed_json',
      },
    ];

    it.each(cases)(
      '$name → $status $code',
      async ({ method = 'GET', path, headers = {}, body, status, code }) => {
        const before = await tableCounts(world.pool, TABLES);
        const response = await fetch(`${world.baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${alice.currentToken}`, ...headers },
          body,
        });
        const problem = (await response.json()) as { code: string; status: number };
        expect({ status: response.status, code: problem.code }).toEqual({ status, code });
        expect(response.headers.get('content-type')).toContain('application/problem+json');
        expect(problem.status).toBe(status);
        expect(await tableCounts(world.pool, TABLES)).toEqual(before);
      },
    );

    it('the control: an empty JSON body on a route that takes none is no body', async () => {
      const response = await fetch(`${world.baseUrl}/v1/devices/link-codes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.currentToken}`, ...json },
        body: '',
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toMatchObject({ code: expect.any(String) });
    });

    it.each([
      {
        name: 'headers over 16 KiB',
        request: `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        status: 431,
        code: 'headers_too_large',
      },
      {
        name: 'bytes that are not HTTP',
        request: 'HELLO WORLD\r\n\r\n',
        status: 400,
        code: 'malformed_request',
      },
    ])('$name → $status $code, and the connection closes', async ({ request, status, code }) => {
      const connection = await openRaw(world.baseUrl, request);
      await waitFor('the server to close the connection', () => connection.closed());
      expect(connection.status()).toBe(status);
      expect(connection.received()).toMatch(/content-type: application\/problem\+json/i);
      expect(connection.body()).toMatchObject({ status, code });
    });

    it('a 1.6 MB body to /v1/accounts is refused with 413 from its headers, before it is sent', async () => {
      const connection = await openRaw(
        world.baseUrl,
        'POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${1_600_000}\r\n\r\n{"handle":"`,
      );
      await waitFor('the answer', () => connection.body());
      expect(connection.status()).toBe(413);
      expect(connection.received()).toMatch(/content-type: application\/problem\+json/i);
      expect(connection.body()).toMatchObject({ status: 413, code: 'body_too_large' });
      connection.close();
    });
  });

  describe('ids are case-insensitive: an upper-case UUID is the same id', () => {
    it('a login with an upper-case deviceId gets a token that works', async () => {
      const carol = await newAccount(world.baseUrl, 'carol');
      const challenge = await rawCall(carol, 'POST', '/v1/auth/challenge', {
        deviceId: upper(carol.deviceId),
      });
      expect(challenge.status).toBe(200);
      const signature = signChallenge(
        Buffer.from(challenge.body.challenge as string, 'base64'),
        carol.identity.keys.signingSecretKey,
      );
      const login = await rawCall(carol, 'POST', '/v1/auth/token', {
        deviceId: upper(carol.deviceId),
        challenge: challenge.body.challenge,
        signature: toBase64(signature),
      });
      expect(login.status).toBe(200);
      const token = login.body.token as string;
      expect(token.startsWith(`${carol.deviceId}.`)).toBe(true);
      const devices = await fetch(`${world.baseUrl}/v1/devices`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(devices.status).toBe(200);
    });

    it('a stream opened with an upper-case token is closed when its device is revoked', async () => {
      const dave = await newAccount(world.baseUrl, 'dave');
      const laptop = await linkDevice(dave, 'laptop');
      const [deviceId, secret] = (laptop.currentToken as string).split('.');
      const socket = new WebSocket(`${world.baseUrl.replace('http', 'ws')}/v1/stream`, {
        headers: { authorization: `Bearer ${upper(deviceId)}.${secret}` },
      });
      let closeCode: number | undefined;
      socket.on('close', (code) => (closeCode = code));
      try {
        await new Promise((resolve) => socket.once('open', resolve));
        await dave.revokeDevice(laptop.deviceId);
        expect(await waitFor('the stream to close', () => closeCode)).toBe(4403);
      } finally {
        socket.terminate();
      }
    });

    it('revoking /v1/devices/{UPPER} revokes that device and closes its stream', async () => {
      const erin = await newAccount(world.baseUrl, 'erin');
      const tablet = await linkDevice(erin, 'tablet');
      const inbox = await LiveInbox.connect(tablet);
      const answer = await rawCall(erin, 'DELETE', `/v1/devices/${upper(tablet.deviceId)}`);
      expect(answer.status).toBe(204);
      await waitFor('the revoked stream to close', () => inbox.stream.revoked);
      expect((await erin.listDevices()).map((device) => device.deviceId)).toEqual([erin.deviceId]);
    });

    it('a send with upper-case ids reaches the account, and every id comes back lower-case', async () => {
      const { devices } = await alice.devicesOf(bob.accountId);
      const clientMessageId = randomUUID();
      // Sealed with the canonical (lower-case) ids: they are what the recipient reads.
      const sealed = sealedSend(
        alice,
        { accountId: bob.accountId },
        devices,
        'HI',
        clientMessageId,
      );
      const answer = await rawCall(alice, 'POST', '/v1/messages', {
        ...sealed,
        clientMessageId: upper(clientMessageId),
        to: { accountId: upper(bob.accountId) },
        keys: sealed.keys.map((key) => ({ ...key, deviceId: upper(key.deviceId) })),
      });
      expect(answer.status).toBe(201);
      const received = await bob.sync();
      expect(received).toMatchObject([
        { clientMessageId, senderDeviceId: alice.deviceId, content: { text: 'HI' } },
      ]);
    });

    it('an ack of upper-case message ids acks them', async () => {
      const sent = await alice.sendText({ accountId: bob.accountId }, 'ack me');
      const answer = await rawCall(bob, 'POST', '/v1/inbox/ack', {
        messageIds: [upper(sent.messageId)],
      });
      expect(answer.body).toEqual({ acked: 1 });
      expect((await bob.fetchInbox()).messages).toEqual([]);
    });
  });

  describe('the request limit of a send follows from the body and group maxima', () => {
    it('a send of the largest body to a full group of full accounts is accepted, and every device reads it', async () => {
      const sender = await newAccount(world.baseUrl, 'sender');
      const accounts = [sender];
      for (let index = 1; index < MEMBERS; index++)
        accounts.push(await newAccount(world.baseUrl, 'member'));
      const devices: SupernodeClient[] = [];
      for (const account of accounts) {
        devices.push(account);
        for (let index = 1; index < DEVICES; index++) devices.push(await linkDevice(account));
      }
      const conversationId = await sender.createConversation(
        accounts.slice(1).map((account) => account.accountId),
      );
      // {"type":"text","text":"…"} sealed: 24 bytes of nonce and 16 of tag around it.
      const text = 'x'.repeat(MAX_BODY - 40 - JSON.stringify({ type: 'text', text: '' }).length);

      const accepted = await sender.sendText({ conversationId }, text);

      const stored = await world.pool.query<{ bytes: number }>(
        'SELECT octet_length(body) AS bytes FROM message_bodies WHERE message_id = $1',
        [accepted.messageId],
      );
      // Stored whole, sealed at rest (docs/retention.md).
      expect(stored.rows).toEqual([{ bytes: MAX_BODY + SEAL_OVERHEAD_BYTES }]);
      for (const device of devices.slice(1)) {
        const read = await device.sync();
        expect(read.map((message) => (message.content as { text: string }).text)).toEqual([text]);
      }
      // One byte more is over MAX_BODY_BYTES: the body, not the request, is too large.
      await expect(sender.sendText({ conversationId }, `${text}x`)).rejects.toMatchObject({
        status: 413,
        code: 'body_too_large',
      });
    });

    it('a request one byte over the send limit is refused with 413 from its headers', async () => {
      const limit = sendBodyLimit(world.env);
      const connection = await openRaw(
        world.baseUrl,
        `POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.currentToken}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${limit + 1}\r\n\r\n{`,
      );
      await waitFor('the answer', () => connection.body());
      expect(connection.status()).toBe(413);
      expect(connection.body()).toMatchObject({ status: 413, code: 'body_too_large' });
      connection.close();
    });

    it('the control: a request of exactly the send limit is read (and judged on its content)', async () => {
      const limit = sendBodyLimit(world.env);
      const answer = await rawCall(
        alice,
        'POST',
        '/v1/messages',
        undefined,
        `{}${' '.repeat(limit - 2)}`,
      );
      expect({ status: answer.status, code: answer.body.code }).toEqual({
        status: 400,
        code: 'validation_failed',
      });
    });

    it('more keys than a full group has devices are refused', async () => {
      const before = await tableCounts(world.pool, TABLES);
      const sealed = sealedSend(alice, { accountId: bob.accountId }, []);
      const keys = Array.from({ length: MEMBERS * DEVICES + 1 }, () => ({
        deviceId: randomUUID(),
        wrappedKey: randomBytes(72).toString('base64'),
      }));
      const answer = await rawCall(alice, 'POST', '/v1/messages', { ...sealed, keys });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        code: 'validation_failed',
        errors: [{ field: 'keys', message: expect.stringContaining(`${MEMBERS * DEVICES}`) }],
      });
      expect(await tableCounts(world.pool, TABLES)).toEqual(before);
    });
  });
});
