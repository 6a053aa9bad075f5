import {
  SupernodeClient,
  UnauthorizedError,
  NotFoundError,
  HandleTakenError,
  TooManyDevicesError,
  LinkCodeInvalidError,
  fetchTransport,
  type HttpTransport,
} from '@supernode/client';
import { linkDevice, newAccount, uniqueHandle } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('identity and directory through the SDK', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp({ MAX_DEVICES_PER_ACCOUNT: '3' });
  });
  afterAll(() => world.close());

  it('creates an account whose first device can log in and list itself', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const devices = await alice.listDevices();
    expect(devices).toEqual([expect.objectContaining({ deviceId: alice.deviceId, name: 'first' })]);
  });

  it('refuses a second account with the same handle in another case', async () => {
    const handle = uniqueHandle('Bob');
    await SupernodeClient.createAccount(world.baseUrl, handle);
    await expect(
      SupernodeClient.createAccount(world.baseUrl, handle.toUpperCase()),
    ).rejects.toBeInstanceOf(HandleTakenError);
  });

  it('links a second device with a single-use code, and both show in the directory', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const { code } = await alice.createLinkCode();
    const laptop = await SupernodeClient.linkDevice(world.baseUrl, code, { deviceName: 'laptop' });
    expect(laptop.accountId).toBe(alice.accountId);
    await expect(SupernodeClient.linkDevice(world.baseUrl, code)).rejects.toBeInstanceOf(
      LinkCodeInvalidError,
    );

    const bob = await newAccount(world.baseUrl, 'bob');
    const entry = await bob.devicesOf(alice.accountId);
    expect(entry.devices.map((device) => device.deviceId).sort()).toEqual(
      [alice.deviceId, laptop.deviceId].sort(),
    );
    const byHandle = await bob.lookupHandle(
      (await alice.devicesOf(alice.accountId)).handle.toUpperCase(),
    );
    expect(byHandle.accountId).toBe(alice.accountId);
    expect(byHandle.devices).toHaveLength(2);
  });

  it('revoking a device ends its token at once and removes it from the directory', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const phone = await linkDevice(alice, 'phone');
    const token = phone.currentToken;
    await alice.revokeDevice(phone.deviceId);

    const response = await fetch(`${world.baseUrl}/v1/devices`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    await expect(phone.login()).rejects.toBeInstanceOf(NotFoundError);
    const entry = await alice.devicesOf(alice.accountId);
    expect(entry.devices.map((device) => device.deviceId)).toEqual([alice.deviceId]);
  });

  it('caps the devices of an account, and a revoked one frees its place', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const second = await linkDevice(alice);
    await linkDevice(alice);
    await expect(linkDevice(alice)).rejects.toBeInstanceOf(TooManyDevicesError);
    await alice.revokeDevice(second.deviceId);
    await expect(linkDevice(alice)).resolves.toBeInstanceOf(SupernodeClient);
  });

  it('never lets one account revoke another account’s device', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const mallory = await newAccount(world.baseUrl, 'mallory');
    await expect(mallory.revokeDevice(alice.deviceId)).rejects.toBeInstanceOf(NotFoundError);
    expect(await alice.listDevices()).toHaveLength(1);
  });

  it('rejects requests without a valid token', async () => {
    const response = await fetch(`${world.baseUrl}/v1/devices`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('token_invalid');
    const alice = await newAccount(world.baseUrl, 'alice');
    await expect(
      fetch(`${world.baseUrl}/v1/devices`, {
        headers: { authorization: `Bearer ${alice.deviceId}.AAAA` },
      }).then((r) => r.status),
    ).resolves.toBe(401);
    expect(UnauthorizedError).toBeDefined();
  });

  it('resumes a device with its saved token over a transport of the app’s own, logging in only once it is refused', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const requests: string[] = [];
    const inner = fetchTransport(world.baseUrl);
    const counting: HttpTransport = {
      request: (method, path, options) => {
        requests.push(`${method} ${path}`);
        return inner.request(method, path, options);
      },
    };

    const resumed = await SupernodeClient.fromIdentity(world.baseUrl, alice.identity, {
      transport: counting,
      token: alice.currentToken,
    });
    await resumed.sendText({ accountId: bob.accountId }, 'sent with a saved token');
    // No login; the first send learns Bob's devices from the 409, the second is accepted.
    expect(requests).toEqual(['POST /v1/messages', 'POST /v1/messages']);
    expect((await bob.sync()).map((message) => message.content)).toEqual([
      { type: 'text', text: 'sent with a saved token' },
    ]);

    requests.length = 0;
    const forged = await SupernodeClient.fromIdentity(world.baseUrl, alice.identity, {
      transport: counting,
      token: `${alice.deviceId}.forged`,
    });
    expect(await forged.listDevices()).toHaveLength(1);
    expect(requests).toEqual([
      'GET /v1/devices',
      'POST /v1/auth/challenge',
      'POST /v1/auth/token',
      'GET /v1/devices',
    ]);
  });
});
