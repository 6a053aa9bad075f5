import sodium from 'libsodium-wrappers';
import { randomUUID } from 'node:crypto';
import {
  generateDeviceKeys,
  publicDeviceKeys,
  signChallenge,
  toBase64,
  type SupernodeClient,
} from '@supernode/client';
import { newAccount, uniqueHandle } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { tableCounts } from '../support/test-env.js';

const TABLES = ['accounts', 'devices', 'auth_challenges', 'auth_tokens', 'link_codes'];

describe('bad input to identity and auth gets a clear 4xx and changes nothing', () => {
  let world: TestApp;
  let alice: SupernodeClient;
  let mallory: SupernodeClient;

  beforeAll(async () => {
    world = await startTestApp();
    alice = await newAccount(world.baseUrl, 'alice');
    mallory = await newAccount(world.baseUrl, 'mallory');
  });
  afterAll(() => world.close());

  const device = (change: (keys: Record<string, string>) => void = () => undefined) => {
    const keys: Record<string, string> = {
      name: 'phone',
      ...publicDeviceKeys(generateDeviceKeys()),
    };
    change(keys);
    return keys;
  };
  const account = (change: (body: Record<string, unknown>) => void) => () => {
    const body: Record<string, unknown> = { handle: uniqueHandle(), device: device() };
    change(body);
    return body;
  };
  const otherSigned = () => {
    // A box key signed by some other signing key than the one presented.
    const real = device();
    return device((keys) => (keys.boxKeySignature = real.boxKeySignature));
  };

  type Case = {
    name: string;
    method?: string;
    path: string;
    body?: () => unknown;
    raw?: string;
    token?: () => string | undefined;
    status: number;
    code: string;
  };
  const cases: Case[] = [
    {
      name: 'malformed JSON',
      path: '/v1/accounts',
      raw: '{"handle": "x"',
      status: 400,
      code: 'malformed_json',
    },
    {
      name: 'a handle too short',
      path: '/v1/accounts',
      body: account((b) => (b.handle = 'ab')),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a handle with a space',
      path: '/v1/accounts',
      body: account((b) => (b.handle = 'al ice')),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a handle too long',
      path: '/v1/accounts',
      body: account((b) => (b.handle = 'a'.repeat(33))),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a handle of the wrong type',
      path: '/v1/accounts',
      body: account((b) => (b.handle = 42)),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a taken handle in another case',
      path: '/v1/accounts',
      body: () => ({ handle: 'ALICE_TAKEN', device: device() }),
      status: 409,
      code: 'handle_taken',
    },
    {
      name: 'a signing key that is not base64',
      path: '/v1/accounts',
      body: account((b) => (b.device = device((k) => (k.signingKey = '%%%%')))),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a box key of 31 bytes',
      path: '/v1/accounts',
      body: account((b) => (b.device = device((k) => (k.boxKey = toBase64(new Uint8Array(31)))))),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a signature of the wrong length',
      path: '/v1/accounts',
      body: account(
        (b) => (b.device = device((k) => (k.boxKeySignature = toBase64(new Uint8Array(10))))),
      ),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a box key signed by another key',
      path: '/v1/accounts',
      body: account((b) => (b.device = otherSigned())),
      status: 400,
      code: 'signature_invalid',
    },
    {
      name: 'a device name with a NUL',
      path: '/v1/accounts',
      body: account((b) => (b.device = device((k) => (k.name = 'pho\u0000ne')))),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a device name with a line feed',
      path: '/v1/accounts',
      body: account((b) => (b.device = device((k) => (k.name = 'phone\n2')))),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a device name with DEL',
      path: '/v1/accounts',
      body: account((b) => (b.device = device((k) => (k.name = 'phone\u007f')))),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a device name with a C1 control',
      path: '/v1/accounts',
      body: account((b) => (b.device = device((k) => (k.name = 'phone\u0085')))),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a device name with a line separator',
      path: '/v1/accounts',
      body: account((b) => (b.device = device((k) => (k.name = 'pho\u2028ne')))),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a device name with a right-to-left override',
      path: '/v1/accounts',
      body: account((b) => (b.device = device((k) => (k.name = '\u202Eenohp')))),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a device name with a lone surrogate',
      path: '/v1/accounts',
      body: account((b) => (b.device = device((k) => (k.name = 'phone\ud800')))),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a linked device name with a NUL',
      path: '/v1/devices',
      body: () => ({ code: 'nope', device: device((k) => (k.name = 'tab\u0000let')) }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'no device',
      path: '/v1/accounts',
      body: account((b) => delete b.device),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'an unknown field',
      path: '/v1/accounts',
      body: account((b) => (b.admin = true)),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a challenge for an unknown device',
      path: '/v1/auth/challenge',
      body: () => ({ deviceId: randomUUID() }),
      status: 404,
      code: 'device_not_found',
    },
    {
      name: 'a challenge for a non-uuid',
      path: '/v1/auth/challenge',
      body: () => ({ deviceId: 'me' }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a token for a challenge never issued',
      path: '/v1/auth/token',
      body: () => forgedToken(true),
      status: 401,
      code: 'challenge_invalid',
    },
    {
      name: 'a token with a forged signature',
      path: '/v1/auth/token',
      body: () => forgedToken(false),
      status: 401,
      code: 'signature_invalid',
    },
    {
      name: 'a token with a challenge of the wrong length',
      path: '/v1/auth/token',
      body: () => ({
        deviceId: alice.deviceId,
        challenge: 'AAAA',
        signature: toBase64(new Uint8Array(64)),
      }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a link with an unknown code',
      path: '/v1/devices',
      body: () => ({ code: 'nope', device: device() }),
      status: 400,
      code: 'link_code_invalid',
    },
    {
      name: 'a link code request without a token',
      path: '/v1/devices/link-codes',
      token: () => undefined,
      status: 401,
      code: 'token_invalid',
    },
    {
      name: 'a forged token',
      method: 'GET',
      path: '/v1/devices',
      token: () => `${alice.deviceId}.${Buffer.alloc(32, 7).toString('base64url')}`,
      status: 401,
      code: 'token_invalid',
    },
    {
      name: 'a token that is not a token',
      method: 'GET',
      path: '/v1/devices',
      token: () => 'hello',
      status: 401,
      code: 'token_invalid',
    },
    {
      name: 'revoking another account’s device',
      method: 'DELETE',
      path: 'MALLORY_DEVICE',
      status: 404,
      code: 'device_not_found',
    },
    {
      name: 'revoking an unknown device',
      method: 'DELETE',
      path: `/v1/devices/${randomUUID()}`,
      status: 404,
      code: 'device_not_found',
    },
    {
      name: 'revoking a non-uuid',
      method: 'DELETE',
      path: '/v1/devices/phone',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'the directory of an unknown handle',
      method: 'GET',
      path: '/v1/directory/nobody_here',
      status: 404,
      code: 'account_not_found',
    },
    {
      name: 'the devices of an unknown account',
      method: 'GET',
      path: `/v1/accounts/${randomUUID()}/devices`,
      status: 404,
      code: 'account_not_found',
    },
    {
      name: 'an unknown route',
      method: 'GET',
      path: '/v1/nothing',
      status: 404,
      code: 'not_found',
    },
  ];

  // Signs a random challenge: valid signature but never issued (true), or the real challenge signed by the wrong key (false).
  let issued: string | undefined;
  function forgedToken(signedByDevice: boolean) {
    const challenge = toBase64(sodium.randombytes_buf(32));
    if (signedByDevice) {
      return {
        deviceId: alice.deviceId,
        challenge,
        signature: toBase64(
          signChallenge(Buffer.from(challenge, 'base64'), alice.identity.keys.signingSecretKey),
        ),
      };
    }
    return {
      deviceId: alice.deviceId,
      challenge: issued,
      signature: toBase64(
        signChallenge(Buffer.from(issued ?? '', 'base64'), mallory.identity.keys.signingSecretKey),
      ),
    };
  }

  beforeAll(async () => {
    await fetch(`${world.baseUrl}/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handle: 'alice_taken', device: device() }),
    });
    const response = await fetch(`${world.baseUrl}/v1/auth/challenge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: alice.deviceId }),
    });
    issued = ((await response.json()) as { challenge: string }).challenge;
  });

  it.each(cases)(
    '$name → $status $code',
    async ({ method = 'POST', path, body, raw, token, status, code }) => {
      const before = await tableCounts(world.pool, TABLES);
      const bearer = token ? token() : alice.currentToken;
      const response = await fetch(
        `${world.baseUrl}${path.replace('MALLORY_DEVICE', `/v1/devices/${mallory.deviceId}`)}`,
        {
          method,
          headers: {
            ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
            ...(body || raw ? { 'content-type': 'application/json' } : {}),
          },
          body: raw ?? (body ? JSON.stringify(body()) : undefined),
        },
      );
      const problem = (await response.json()) as { code: string; status: number; title: string };
      expect({ status: response.status, code: problem.code }).toEqual({ status, code });
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(problem.status).toBe(status);
      expect(await tableCounts(world.pool, TABLES)).toEqual(before);
    },
  );

  it('the control: a device name in any script, with emoji and direction marks, is accepted', async () => {
    const name = 'Ana\u2019s \u05E9\u05DC\u05D5\u05DD\u200F 👨‍👩‍👧';
    const response = await fetch(`${world.baseUrl}/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handle: uniqueHandle(), device: device((k) => (k.name = name)) }),
    });
    expect(response.status).toBe(201);
    const { deviceId } = (await response.json()) as { deviceId: string };
    const stored = await world.pool.query('SELECT name FROM devices WHERE id = $1', [deviceId]);
    expect(stored.rows).toEqual([{ name }]);
  });

  it('the issued challenge survived the forged attempt and still logs in, once', async () => {
    const signature = toBase64(
      signChallenge(Buffer.from(issued ?? '', 'base64'), alice.identity.keys.signingSecretKey),
    );
    const attempt = () =>
      fetch(`${world.baseUrl}/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ deviceId: alice.deviceId, challenge: issued, signature }),
      });
    expect((await attempt()).status).toBe(200);
    const replay = await attempt();
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe('challenge_invalid');
  });

  it('an expired challenge and an expired token are refused', async () => {
    const { challenge } = (await (
      await fetch(`${world.baseUrl}/v1/auth/challenge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ deviceId: mallory.deviceId }),
      })
    ).json()) as { challenge: string };
    await world.pool.query(
      "UPDATE auth_challenges SET expires_at = now() - interval '1 second' WHERE device_id = $1",
      [mallory.deviceId],
    );
    const signature = toBase64(
      signChallenge(Buffer.from(challenge, 'base64'), mallory.identity.keys.signingSecretKey),
    );
    const login = await fetch(`${world.baseUrl}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: mallory.deviceId, challenge, signature }),
    });
    expect(login.status).toBe(401);

    await world.pool.query(
      "UPDATE auth_tokens SET expires_at = now() - interval '1 second' WHERE device_id = $1",
      [mallory.deviceId],
    );
    const call = await fetch(`${world.baseUrl}/v1/devices`, {
      headers: { authorization: `Bearer ${mallory.currentToken}` },
    });
    expect(call.status).toBe(401);
    expect(((await call.json()) as { code: string }).code).toBe('token_invalid');
  });
});
