import { linkDevice, newAccount } from '../factories/accounts.js';
import { rawCall, sealedSend } from '../support/raw-send.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('the device-coverage rule and idempotent sends', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  const countRows = async (table: string) =>
    Number((await world.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

  it('409 names a device Bob added, with its keys; the SDK re-wraps by itself and the new device decrypts', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    await alice.sendText({ accountId: bob.accountId }, 'first'); // the SDK now knows Bob's one device
    const bobTablet = await linkDevice(bob, 'tablet');

    const known = (await alice.devicesOf(bob.accountId)).devices.filter(
      (device) => device.deviceId === bob.deviceId,
    );
    const before = await countRows('messages');
    const answer = await rawCall(
      alice,
      'POST',
      '/v1/messages',
      sealedSend(alice, { accountId: bob.accountId }, known),
    );
    expect(answer.status).toBe(409);
    expect(answer.contentType).toContain('application/problem+json');
    expect(answer.body.code).toBe('devices_missing');
    expect(answer.body.missingDevices).toEqual([
      expect.objectContaining({
        accountId: bob.accountId,
        deviceId: bobTablet.deviceId,
        boxKey: expect.any(String),
        signingKey: expect.any(String),
        boxKeySignature: expect.any(String),
      }),
    ]);
    expect(await countRows('messages')).toBe(before);

    await alice.sendText({ accountId: bob.accountId }, 'to both');
    const onTablet = await bobTablet.sync();
    expect(onTablet.map((message) => message.content)).toEqual([{ type: 'text', text: 'to both' }]);
  });

  it('410 names a revoked device; the SDK drops it by itself, and the revoked device’s pending messages are gone', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const bobPhone = await linkDevice(bob, 'phone');
    const sent = await alice.sendText({ accountId: bob.accountId }, 'before revocation');
    const devices = (await alice.devicesOf(bob.accountId)).devices;

    await bob.revokeDevice(bobPhone.deviceId);
    const pendingForPhone = await world.pool.query(
      'SELECT 1 FROM deliveries WHERE device_id = $1',
      [bobPhone.deviceId],
    );
    expect(pendingForPhone.rowCount).toBe(0);
    const status = await alice.messageStatus(sent.messageId);
    expect(status).toMatchObject({ devices: 2, pending: 1, delivered: 0 });

    const answer = await rawCall(
      alice,
      'POST',
      '/v1/messages',
      sealedSend(alice, { accountId: bob.accountId }, devices),
    );
    expect(answer.status).toBe(410);
    expect(answer.body).toMatchObject({ code: 'devices_stale', staleDevices: [bobPhone.deviceId] });

    await alice.sendText({ accountId: bob.accountId }, 'after revocation');
    expect((await bob.sync()).map((message) => (message.content as { text: string }).text)).toEqual(
      ['before revocation', 'after revocation'],
    );
  });

  it('a key for a device that does not exist is refused with 410 and stores nothing', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const devices = (await alice.devicesOf(bob.accountId)).devices;
    const ghost = { ...devices[0], deviceId: '00000000-0000-4000-8000-000000000000' };
    const before = await countRows('deliveries');
    const answer = await rawCall(
      alice,
      'POST',
      '/v1/messages',
      sealedSend(alice, { accountId: bob.accountId }, [...devices, ghost]),
    );
    expect(answer.status).toBe(410);
    expect(answer.body.staleDevices).toEqual([ghost.deviceId]);
    expect(await countRows('deliveries')).toBe(before);
  });

  it('a retried send stores once and returns the first answer, sequentially and concurrently', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const devices = (await alice.devicesOf(bob.accountId)).devices;
    const send = sealedSend(alice, { accountId: bob.accountId }, devices, 'once');

    const first = await rawCall(alice, 'POST', '/v1/messages', send);
    const again = await rawCall(alice, 'POST', '/v1/messages', send);
    expect(first.status).toBe(201);
    expect(again).toEqual(first);

    const racing = sealedSend(alice, { accountId: bob.accountId }, devices, 'racing');
    const answers = await Promise.all(
      [1, 2, 3].map(() => rawCall(alice, 'POST', '/v1/messages', racing)),
    );
    expect(new Set(answers.map((answer) => JSON.stringify(answer.body))).size).toBe(1);
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201]);

    const stored = await world.pool.query(
      'SELECT count(*)::int AS n FROM messages WHERE sender_device_id = $1',
      [alice.deviceId],
    );
    expect(stored.rows[0].n).toBe(2);
    const claims = await world.pool.query(
      'SELECT count(*)::int AS n FROM message_client_ids WHERE sender_device_id = $1',
      [alice.deviceId],
    );
    expect(claims.rows[0].n).toBe(2);
    expect((await bob.sync()).map((message) => (message.content as { text: string }).text)).toEqual(
      ['once', 'racing'],
    );
  });

  it('a retry after the devices changed still gets its first answer, not a 409', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const send = sealedSend(
      alice,
      { accountId: bob.accountId },
      (await alice.devicesOf(bob.accountId)).devices,
    );
    const first = await rawCall(alice, 'POST', '/v1/messages', send);
    await linkDevice(bob, 'new');
    expect(await rawCall(alice, 'POST', '/v1/messages', send)).toEqual(first);
  });
});
