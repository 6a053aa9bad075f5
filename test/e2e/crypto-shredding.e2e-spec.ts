import { AdminCredentials } from '../../src/admin/admin-credentials.js';
import type { InboxMessage } from '@supernode/client';
import { DayKeys } from '../../src/messages/at-rest/day-keys.service.js';
import { open, SEAL_OVERHEAD_BYTES } from '../../src/messages/at-rest/sealing.js';
import { PurgeProcessor } from '../../src/retention/purge.processor.js';
import { linkDevice, newAccount } from '../factories/accounts.js';
import { resealUnderDay, storedBody } from '../support/at-rest.js';
import { setExpiry } from '../support/expiry.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

const DAY_MS = 24 * 3600 * 1000;
const dayOf = (at: Date) => at.toISOString().slice(0, 10);

describe('crypto-shredding: ciphertext sealed at rest under a key per day of expiry', () => {
  let world: TestApp;
  beforeAll(async () => {
    // No scheduled purge racing the ones the tests run; no master key
    // configured, which `npm run up` starts with.
    world = await startTestApp({ PURGE_INTERVAL_SECONDS: '3600', AT_REST_MASTER_KEY: '' });
  });
  afterAll(() => world?.close());

  /** A message from a new alice to a new bob, kept pending by bob's second device. */
  async function pendingMessage(text: string) {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    await linkDevice(bob, 'tablet');
    const { messageId } = await alice.sendText({ accountId: bob.accountId }, text);
    const wire = (await bob.fetchInbox()).messages.find(
      (message: InboxMessage) => message.messageId === messageId,
    )!;
    return { alice, bob, messageId, wire };
  }

  it('with no master key configured, generates one at the first start and keeps it', async () => {
    // Nothing was sent yet: the start itself made it.
    await waitFor('the master key to be kept', async () => {
      const kept = await world.pool.query<{ key: Buffer }>('SELECT key FROM at_rest_master_key');
      return kept.rows[0]?.key.length === 32;
    });
  });

  it('stores bodies and wrapped keys sealed, and serves them as the client sent them', async () => {
    const { bob, messageId, wire } = await pendingMessage('sealed at rest');
    const sentBody = Buffer.from(wire.body, 'base64');
    const stored = await storedBody(world.pool, messageId);
    expect(stored.body.length).toBe(sentBody.length + SEAL_OVERHEAD_BYTES);
    expect(stored.body.includes(sentBody.subarray(0, 32))).toBe(false);
    const keys = await world.pool.query<{ wrappedKey: Buffer }>(
      'SELECT wrapped_key AS "wrappedKey" FROM deliveries WHERE message_id = $1 AND device_id = $2',
      [messageId, bob.deviceId],
    );
    const sentKey = Buffer.from(wire.wrappedKey, 'base64');
    expect(keys.rows[0].wrappedKey.length).toBe(sentKey.length + SEAL_OVERHEAD_BYTES);
    expect(keys.rows[0].wrappedKey.includes(sentKey.subarray(0, 32))).toBe(false);
    // Sealed under the key of its day of expiry (the next, when that is within the hour).
    const expiresAt = new Date(wire.expiresAt);
    expect([dayOf(expiresAt), dayOf(new Date(expiresAt.getTime() + DAY_MS))]).toContain(
      stored.keyDay,
    );
    // The day key is kept wrapped: 32 bytes sealed by the master key.
    const dayKey = await world.pool.query<{ wrapped: Buffer }>(
      'SELECT wrapped_key AS wrapped FROM expiry_day_keys WHERE day = $1',
      [stored.keyDay],
    );
    expect(dayKey.rows[0].wrapped.length).toBe(32 + SEAL_OVERHEAD_BYTES);
    // And the recipient reads what was sent, over HTTP and over the stream.
    const synced = await bob.sync();
    expect(synced.map((message) => message.content)).toEqual([
      { type: 'text', text: 'sealed at rest' },
    ]);
  });

  it('the purge destroys the key of a day that is over: a copy of its rows is unreadable from then', async () => {
    const { messageId, wire } = await pendingMessage('gone with its day');
    // As if sent yesterday to expire yesterday.
    const yesterday = new Date(Date.now() - DAY_MS);
    await resealUnderDay(world, [messageId], dayOf(yesterday));
    await world.pool.query('SELECT ensure_expiry_partitions($1, $1)', [yesterday]);
    await setExpiry(world.pool, [messageId], yesterday);
    // What a backup, a replica or the WAL holds of it: the sealed bytes.
    const backup = await storedBody(world.pool, messageId);
    expect(backup.keyDay).toBe(dayOf(yesterday));
    const dayKeys = world.app.get(DayKeys);
    const before = (await dayKeys.forOpening([backup.keyDay!])).get(backup.keyDay!)!;
    expect(open(backup.body, before).toString('base64')).toBe(wire.body);

    const run = await world.app.get(PurgeProcessor).purgeNow();
    expect(run.dayKeysDestroyed).toContain(dayOf(yesterday));
    const left = await world.pool.query(
      `SELECT day FROM expiry_day_keys WHERE day < (now() AT TIME ZONE 'UTC')::date`,
    );
    expect(left.rowCount).toBe(0);
    await expect(dayKeys.forOpening([backup.keyDay!])).rejects.toThrow(/destroyed/);
    // The purge log says which day's key went.
    const logged = await world.pool.query<{ details: { dayKeysDestroyed: string[] } }>(
      `SELECT details FROM purge_log ORDER BY seq DESC LIMIT 1`,
    );
    expect(logged.rows[0].details.dayKeysDestroyed).toContain(dayOf(yesterday));
  });

  it('a legal hold keeps the key its copies are sealed under, until it is released', async () => {
    const { bob, messageId, wire } = await pendingMessage('held past its day');
    const admin = (await world.app.get(AdminCredentials).create('legal')).token;
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${world.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${admin}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect(
      (await call('PUT', `/v1/admin/holds/${bob.accountId}`, { reference: 'case 7' })).status,
    ).toBe(200);
    const yesterday = new Date(Date.now() - DAY_MS);
    await resealUnderDay(world, [messageId], dayOf(yesterday));
    await world.pool.query('SELECT ensure_expiry_partitions($1, $1)', [yesterday]);
    await setExpiry(world.pool, [messageId], yesterday);

    const held = await world.app.get(PurgeProcessor).purgeNow();
    expect(held.heldCopies).toBe(2); // for bob's two devices
    expect(held.dayKeysDestroyed).not.toContain(dayOf(yesterday));
    const exported = await call('GET', `/v1/admin/holds/${bob.accountId}/export`);
    const lines = (await exported.text())
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as { recipientDeviceId: string; body: string; wrappedKey: string },
      );
    // Opened from its sealing: what the client sent.
    expect(lines.find((line) => line.recipientDeviceId === bob.deviceId)).toMatchObject({
      body: wire.body,
      wrappedKey: wire.wrappedKey,
    });

    expect((await call('DELETE', `/v1/admin/holds/${bob.accountId}`)).status).toBe(200);
    const released = await world.app.get(PurgeProcessor).purgeNow();
    expect(released.dayKeysDestroyed).toContain(dayOf(yesterday));
  });

  it('with AT_REST_MASTER_KEY configured, no master key is kept in the database', async () => {
    const configured = await startTestApp({
      PURGE_INTERVAL_SECONDS: '3600',
      AT_REST_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    try {
      const alice = await newAccount(configured.baseUrl, 'alice');
      const bob = await newAccount(configured.baseUrl, 'bob');
      await alice.sendText({ accountId: bob.accountId }, 'under a configured key');
      expect((await bob.sync()).map((message) => message.content)).toEqual([
        { type: 'text', text: 'under a configured key' },
      ]);
      expect((await configured.pool.query('SELECT 1 FROM at_rest_master_key')).rowCount).toBe(0);
      expect(
        (await configured.pool.query('SELECT 1 FROM expiry_day_keys')).rowCount,
      ).toBeGreaterThan(0);
    } finally {
      await configured.close();
    }
  });
});
