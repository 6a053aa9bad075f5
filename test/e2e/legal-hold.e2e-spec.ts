import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { InboxMessage } from '@supernode/client';
import { PurgeProcessor } from '../../src/retention/purge.processor.js';
import { newAccount } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

/** The operator's CLI (npm run admin / audit:verify), run as a user would, on this test's database. */
function adminCli(
  databaseUrl: string,
  ...args: string[]
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'scripts/admin.ts', ...args],
      { env: { ...process.env, DATABASE_URL: databaseUrl, NODE_OPTIONS: '' }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

describe('legal hold, the admin API and its audit log', () => {
  let world: TestApp;
  let admin: string;

  beforeAll(async () => {
    world = await startTestApp();
    const made = await adminCli(world.env.DATABASE_URL, 'credential', 'create', '--name', 'legal');
    expect(made.code).toBe(0);
    admin = /^(sna_\S+)$/m.exec(made.output)![1];
  }, 60_000);
  afterAll(() => world?.close());

  const call = async (method: string, path: string, token = admin, body?: unknown) => {
    const response = await fetch(`${world.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type'), text };
  };

  it('refuses anything but an admin credential, and records a refused real one', async () => {
    const user = await newAccount(world.baseUrl, 'mallory');
    const [adminId] = admin.slice(4).split('.');
    for (const token of [
      'nothing',
      user.currentToken!,
      `sna_${adminId}.${Buffer.alloc(32, 1).toString('base64url')}`,
      `sna_${randomUUID()}.${Buffer.alloc(32, 1).toString('base64url')}`,
    ]) {
      const answer = await call('GET', '/v1/admin/holds', token);
      expect(answer.status).toBe(401);
      expect(answer.type).toMatch(/problem\+json/);
    }
    const refused = await world.pool.query(
      `SELECT actor FROM audit_log WHERE action = 'credential_refused'`,
    );
    expect(refused.rows).toEqual([{ actor: adminId }]);
    // The secret itself is stored nowhere.
    const stored = await world.pool.query(
      `SELECT * FROM admin_credentials t WHERE to_jsonb(t)::text LIKE $1`,
      [`%${admin.split('.')[1]}%`],
    );
    expect(stored.rowCount).toBe(0);
  });

  it('keeps a held account’s pending ciphertext past expiry, exports it, and lets it go on release', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const carol = await newAccount(world.baseUrl, 'carol');
    expect(
      (await call('PUT', `/v1/admin/holds/${bob.accountId}`, admin, { reference: 'case 42' }))
        .status,
    ).toBe(200);

    // For bob: one that expires unread, one he reads and acks, one ephemeral (never stored).
    const expiring = await alice.sendText({ accountId: bob.accountId }, 'expires unread', {
      ttlSeconds: 1,
    });
    const read = await alice.sendText({ accountId: bob.accountId }, 'read');
    await alice.send(
      { accountId: bob.accountId },
      { type: 'typing', typing: true },
      { ephemeral: true },
    );
    // From bob: one carol never reads.
    const fromBob = await bob.sendText({ accountId: carol.accountId }, 'from bob', {
      ttlSeconds: 1,
    });
    const stored = (await bob.fetchInbox()).messages;
    const ciphertext = stored.find(
      (message: InboxMessage) => message.messageId === expiring.messageId,
    )!;
    await bob.ack([read.messageId]);

    await waitFor('both short messages to expire', async () => {
      const { rows } = await world.pool.query<{ expired: boolean }>(
        `SELECT bool_and(expires_at <= now()) AS expired FROM messages WHERE id = ANY($1)`,
        [[expiring.messageId, fromBob.messageId]],
      );
      return rows[0].expired;
    });
    const run = await world.app.get(PurgeProcessor).purgeNow();
    expect(run.deletedMessages).toBeGreaterThanOrEqual(2);
    expect(run.heldCopies).toBe(2);
    expect((await bob.fetchInbox()).messages.map((m) => m.messageId)).not.toContain(
      expiring.messageId,
    );

    const exported = await call('GET', `/v1/admin/holds/${bob.accountId}/export`);
    expect(exported.status).toBe(200);
    expect(exported.type).toMatch(/application\/x-ndjson/);
    const lines = exported.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string>);
    expect(lines.map((line) => [line.messageId, line.source]).sort()).toEqual(
      [
        [expiring.messageId, 'held'],
        [fromBob.messageId, 'held'],
      ].sort(),
    );
    const forBob = lines.find((line) => line.messageId === expiring.messageId)!;
    expect(forBob).toMatchObject({
      senderAccountId: alice.accountId,
      senderDeviceId: alice.deviceId,
      recipientDeviceId: bob.deviceId,
      body: ciphertext.body,
      wrappedKey: ciphertext.wrappedKey,
      expiresAt: ciphertext.expiresAt,
    });
    expect(lines.find((line) => line.messageId === fromBob.messageId)).toMatchObject({
      senderAccountId: bob.accountId,
      recipientDeviceId: carol.deviceId,
    });

    // The purge log says what went; reading it is on the audit log too.
    const purgeLog = JSON.parse((await call('GET', '/v1/admin/purge-log?limit=1000')).text) as {
      entries: {
        details: { messages: number; heldCopies: number };
        hash: string;
        prevHash: string;
      }[];
    };
    expect(purgeLog.entries.some((entry) => entry.details.heldCopies === 2)).toBe(true);

    const released = JSON.parse((await call('DELETE', `/v1/admin/holds/${bob.accountId}`)).text);
    expect(released).toEqual({ copiesDeleted: 2 });
    expect((await call('GET', `/v1/admin/holds/${bob.accountId}/export`)).status).toBe(404);
    const left = await world.pool.query('SELECT 1 FROM held_messages');
    expect(left.rowCount).toBe(0);

    // Counts per month, no one named.
    const transparency = await fetch(`${world.baseUrl}/v1/transparency`);
    expect(transparency.status).toBe(200);
    const text = await transparency.text();
    expect(JSON.parse(text)).toEqual({
      periods: [
        {
          period: new Date().toISOString().slice(0, 7),
          holdsPlaced: 1,
          holdsReleased: 1,
          exports: 1,
        },
      ],
    });
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it('answers bad admin input with a 4xx problem and changes nothing', async () => {
    const holdsBefore = await world.pool.query('SELECT count(*) FROM legal_holds');
    const bob = await newAccount(world.baseUrl, 'bob');
    const cases: [string, string, unknown, number][] = [
      ['PUT', `/v1/admin/holds/${bob.accountId}`, {}, 400],
      ['PUT', `/v1/admin/holds/${bob.accountId}`, { reference: '' }, 400],
      ['PUT', `/v1/admin/holds/${bob.accountId}`, { reference: 'x'.repeat(201) }, 400],
      ['PUT', `/v1/admin/holds/${bob.accountId}`, { reference: 'case', extra: 1 }, 400],
      ['PUT', `/v1/admin/holds/not-a-uuid`, { reference: 'case' }, 400],
      ['PUT', `/v1/admin/holds/${randomUUID()}`, { reference: 'case' }, 404],
      ['DELETE', `/v1/admin/holds/${bob.accountId}`, undefined, 404],
      ['GET', `/v1/admin/holds/${bob.accountId}/export`, undefined, 404],
      ['GET', '/v1/admin/purge-log?limit=0', undefined, 400],
      ['GET', '/v1/admin/audit-log?after=-1', undefined, 400],
    ];
    for (const [method, path, body, status] of cases) {
      const answer = await call(method, path, admin, body);
      expect([method, path, answer.status]).toEqual([method, path, status]);
      expect(answer.type).toMatch(/problem\+json/);
    }
    expect((await world.pool.query('SELECT count(*) FROM legal_holds')).rows).toEqual(
      holdsBefore.rows,
    );
  });

  it('audit:verify passes an intact log and names an edited, a deleted and a reordered row', async () => {
    const verify = () => adminCli(world.env.DATABASE_URL, 'verify', '--log', 'audit');
    const intact = await verify();
    expect(intact.code).toBe(0);
    expect(intact.output).toMatch(/ok: every chain is intact/);
    // Append-only: plain SQL cannot change a row.
    await expect(
      world.pool.query(`UPDATE audit_log SET subject = 'x' WHERE seq = 2`),
    ).rejects.toThrow(/append-only/);
    // Someone able to switch the guard off can; the chain still shows it.
    const tamper = (statement: string) =>
      world.pool.query(
        `BEGIN; ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; ${statement};
         ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only; COMMIT`,
      );
    await tamper(`UPDATE audit_log SET subject = 'someone else' WHERE seq = 2`);
    const edited = await verify();
    expect(edited.code).not.toBe(0);
    expect(edited.output).toMatch(/audit_log row 2: edited/);

    await tamper(`DELETE FROM audit_log WHERE seq = 4`);
    expect((await verify()).output).toMatch(/audit_log row 4: missing/);

    await tamper(
      `UPDATE audit_log SET seq = CASE seq WHEN 5 THEN 6 WHEN 6 THEN 5 END WHERE seq IN (5, 6)`,
    );
    expect((await verify()).output).toMatch(/audit_log row [56]: out_of_order/);
  }, 120_000);
});
