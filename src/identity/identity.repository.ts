import { Inject, Injectable } from '@nestjs/common';
import { and, count, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import { Batcher, groupRowsBy } from '../common/batcher.js';
import type pg from 'pg';
import { type Database, DRIZZLE, type Executor, PG_POOL } from '../db/db.module.js';
import { accounts, authChallenges, authTokens, devices, linkCodes } from '../db/schema/index.js';
import { sqlNames } from '../db/sql-names.js';
import { preparedStatement } from '../db/statements.js';
import type { DeviceKeys } from './dto/identity.dto.js';

export interface DeviceRecord {
  id: string;
  accountId: string;
  name: string;
  signingKey: Buffer;
  boxKey: Buffer;
  boxKeySignature: Buffer;
  createdAt: Date;
  lastSeenAt: Date | null;
}

const currentDevice = {
  id: devices.id,
  accountId: devices.accountId,
  name: devices.name,
  signingKey: devices.signingKey,
  boxKey: devices.boxKey,
  boxKeySignature: devices.boxKeySignature,
  createdAt: devices.createdAt,
  lastSeenAt: devices.lastSeenAt,
};

export type CurrentDeviceId = { id: string; accountId: string };

/** One batched load per key, flattened in the order of the keys. */
async function loadEach<T>(batcher: Batcher<string, T[]>, keys: string[]): Promise<T[]> {
  return (await Promise.all(keys.map((key) => batcher.load(key)))).flat();
}

type LiveToken = { deviceId: string; tokenHash: Buffer; accountId: string };

/** Where a token stands now: its device revoked (or gone), the token expired (or gone), or live. */
export type TokenState = 'live' | 'revoked' | 'expired';

// The token's hash as base64 (TokenSession).
type TokenKey = { deviceId: string; tokenHash: string };

const DEVICE = sqlNames(devices);
const TOKEN = sqlNames(authTokens);

// The current devices of accounts, with the columns asked for, oldest first within each account.
const currentDevicesByAccount = (name: string, columns: string) =>
  preparedStatement(
    name,
    `SELECT ${columns} FROM ${DEVICE.$table} WHERE ${DEVICE.accountId} = ANY($1::uuid[]) AND ${DEVICE.revokedAt} IS NULL
     ORDER BY ${DEVICE.createdAt}, ${DEVICE.id}`,
  );

const CURRENT_DEVICES = currentDevicesByAccount(
  'identity-current-devices',
  `${DEVICE.id} AS id, ${DEVICE.accountId} AS "accountId", ${DEVICE.name} AS name, ${DEVICE.signingKey} AS "signingKey", ${DEVICE.boxKey} AS "boxKey",
   ${DEVICE.boxKeySignature} AS "boxKeySignature", ${DEVICE.createdAt} AS "createdAt", ${DEVICE.lastSeenAt} AS "lastSeenAt"`,
);

const CURRENT_DEVICE_IDS = currentDevicesByAccount(
  'identity-current-device-ids',
  `${DEVICE.id} AS id, ${DEVICE.accountId} AS "accountId"`,
);

const LIVE_TOKENS = preparedStatement(
  'identity-live-tokens',
  `SELECT t.${TOKEN.deviceId} AS "deviceId", t.${TOKEN.tokenHash} AS "tokenHash", d.${DEVICE.accountId} AS "accountId"
     FROM ${TOKEN.$table} t JOIN ${DEVICE.$table} d ON d.${DEVICE.id} = t.${TOKEN.deviceId}
    WHERE t.${TOKEN.deviceId} = ANY($1::uuid[]) AND t.${TOKEN.expiresAt} > now() AND d.${DEVICE.revokedAt} IS NULL`,
);

// "s" names the statement's own arrays (unnest's).
const TOKEN_STATES = preparedStatement(
  'identity-token-states',
  `SELECT s.index,
          CASE WHEN d.${DEVICE.id} IS NULL OR d.${DEVICE.revokedAt} IS NOT NULL THEN 'revoked'
               WHEN t.${TOKEN.expiresAt} IS NULL OR t.${TOKEN.expiresAt} <= now() THEN 'expired'
               ELSE 'live' END AS state
     FROM unnest($1::uuid[], $2::bytea[]) WITH ORDINALITY AS s(device_id, token_hash, index)
     LEFT JOIN ${DEVICE.$table} d ON d.${DEVICE.id} = s.device_id
     LEFT JOIN ${TOKEN.$table} t ON t.${TOKEN.deviceId} = s.device_id AND t.${TOKEN.tokenHash} = s.token_hash`,
);

// Marks devices seen now, each at most once a minute (the idle-device rule
// needs no finer grain), so that a device seen by two processes at once is
// written once.
const DEVICES_SEEN = preparedStatement(
  'identity-devices-seen',
  `UPDATE ${DEVICE.$table} SET ${DEVICE.lastSeenAt} = now()
    WHERE ${DEVICE.id} = ANY($1::uuid[])
      AND (${DEVICE.lastSeenAt} IS NULL OR ${DEVICE.lastSeenAt} < now() - interval '1 minute')`,
);

// The devices marked seen in one statement at most.
const SEEN_BATCH = 1000;

/** The only code that touches the identity tables. */
@Injectable()
export class IdentityRepository {
  // Every authenticated request and every send reads these: batched per event-loop turn.
  private readonly devicesByAccount = new Batcher((accountIds: string[]) =>
    this.queryCurrentDevices(accountIds),
  );
  private readonly deviceIdsByAccount = new Batcher((accountIds: string[]) =>
    this.queryCurrentDeviceIds(accountIds),
  );
  private readonly tokensByDevice = new Batcher((deviceIds: string[]) =>
    this.queryLiveTokens(deviceIds),
  );
  // Every new stream checks its token again, and every heartbeat all of them.
  private readonly tokenStateReads = new Batcher(
    (tokens: TokenKey[]) => this.queryTokenStates(tokens),
    { keyOf: (token) => `${token.deviceId}:${token.tokenHash}` },
  );

  private readonly seenMarks = new Batcher(
    async (deviceIds: string[]) => {
      await this.touchDevices(deviceIds);
      return deviceIds.map(() => undefined);
    },
    // One statement at a time: the devices authenticated meanwhile (a
    // connection storm's) are marked together by the next, instead of one
    // statement and one pooled connection each.
    { maxBatch: SEEN_BATCH, maxInFlight: 1 },
  );

  constructor(
    @Inject(DRIZZLE) readonly db: Database,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /** Inserts the account, or returns null when the handle is taken (ignoring case). */
  async insertAccount(tx: Executor, handle: string): Promise<string | null> {
    const rows = await tx
      .insert(accounts)
      .values({ handle })
      .onConflictDoNothing()
      .returning({ id: accounts.id });
    return rows[0]?.id ?? null;
  }

  async insertDevice(tx: Executor, accountId: string, keys: DeviceKeys): Promise<string> {
    const [row] = await tx
      .insert(devices)
      .values({ accountId, ...keys })
      .returning({ id: devices.id });
    return row.id;
  }

  /** Locks the account row so concurrent device additions count correctly. */
  async lockAccount(tx: Executor, accountId: string): Promise<boolean> {
    const rows = await tx
      .select({ id: accounts.id })
      .from(accounts)
      .where(eq(accounts.id, accountId))
      .for('update');
    return rows.length > 0;
  }

  /** Current devices not seen (nor created) for `days` days, oldest first. */
  async idleDevices(days: number, limit: number): Promise<{ id: string; accountId: string }[]> {
    return this.db
      .select({ id: devices.id, accountId: devices.accountId })
      .from(devices)
      .where(
        and(
          isNull(devices.revokedAt),
          sql`coalesce(${devices.lastSeenAt}, ${devices.createdAt}) < now() - make_interval(days => ${days})`,
        ),
      )
      .orderBy(sql`coalesce(${devices.lastSeenAt}, ${devices.createdAt})`)
      .limit(limit);
  }

  /** Marks devices seen now (those holding a stream, or a batch of `touchDevice`'s), at most once a minute each. */
  async touchDevices(deviceIds: string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    await this.pool.query({ ...DEVICES_SEEN, values: [deviceIds] });
  }

  async countCurrentDevices(tx: Executor, accountId: string): Promise<number> {
    const [row] = await tx
      .select({ total: count() })
      .from(devices)
      .where(and(eq(devices.accountId, accountId), isNull(devices.revokedAt)));
    return row.total;
  }

  async findCurrentDevice(deviceId: string): Promise<DeviceRecord | null> {
    const rows = await this.db
      .select(currentDevice)
      .from(devices)
      .where(and(eq(devices.id, deviceId), isNull(devices.revokedAt)));
    return rows[0] ?? null;
  }

  /** Current devices of the accounts, oldest first within each account. */
  listCurrentDevices(accountIds: string[]): Promise<DeviceRecord[]> {
    return loadEach(this.devicesByAccount, accountIds);
  }

  /** Ids only of the current devices of the accounts, in the same order. */
  listCurrentDeviceIds(accountIds: string[]): Promise<CurrentDeviceId[]> {
    return loadEach(this.deviceIdsByAccount, accountIds);
  }

  // The hot reads are named statements over an array parameter: one plan
  // whatever the batch size, and no query building per call. Every send's
  // coverage check and every receipt need only the ids: no keys to encode,
  // send and parse, no dates to parse.
  private queryCurrentDevices(accountIds: string[]): Promise<DeviceRecord[][]> {
    return this.currentDevicesByAccount<DeviceRecord>(CURRENT_DEVICES, accountIds);
  }

  private queryCurrentDeviceIds(accountIds: string[]): Promise<CurrentDeviceId[][]> {
    return this.currentDevicesByAccount<CurrentDeviceId>(CURRENT_DEVICE_IDS, accountIds);
  }

  private async currentDevicesByAccount<T extends { accountId: string }>(
    statement: typeof CURRENT_DEVICES,
    accountIds: string[],
  ): Promise<T[][]> {
    const result = await this.pool.query<T>({ ...statement, values: [accountIds] });
    return groupRowsBy(accountIds, result.rows, (row) => row.accountId);
  }

  async findAccountByHandle(handle: string): Promise<{ id: string; handle: string } | null> {
    const rows = await this.db
      .select({ id: accounts.id, handle: accounts.handle })
      .from(accounts)
      .where(sql`lower(${accounts.handle}) = lower(${handle})`);
    return rows[0] ?? null;
  }

  async findAccount(accountId: string): Promise<{ id: string; handle: string } | null> {
    const rows = await this.db
      .select({ id: accounts.id, handle: accounts.handle })
      .from(accounts)
      .where(eq(accounts.id, accountId));
    return rows[0] ?? null;
  }

  async existingAccountIds(accountIds: string[]): Promise<string[]> {
    if (accountIds.length === 0) return [];
    const rows = await this.db
      .select({ id: accounts.id })
      .from(accounts)
      .where(inArray(accounts.id, accountIds));
    return rows.map((row) => row.id);
  }

  /** Marks the device revoked and ends its tokens; false when it is not a current device of the account. */
  async revokeDevice(tx: Executor, accountId: string, deviceId: string): Promise<boolean> {
    const rows = await tx
      .update(devices)
      .set({ revokedAt: sql`now()` })
      .where(
        and(eq(devices.id, deviceId), eq(devices.accountId, accountId), isNull(devices.revokedAt)),
      )
      .returning({ id: devices.id });
    if (rows.length === 0) return false;
    await tx.delete(authTokens).where(eq(authTokens.deviceId, deviceId));
    await tx.delete(authChallenges).where(eq(authChallenges.deviceId, deviceId));
    await tx.delete(linkCodes).where(eq(linkCodes.createdByDeviceId, deviceId));
    return true;
  }

  /**
   * Locks the account's row and returns every device it ever had, current
   * first; null when there is no such account. Concurrent sign-ups of new
   * devices wait for the lock.
   */
  async lockAccountDevices(
    tx: Executor,
    accountId: string,
  ): Promise<{ current: string[]; revoked: string[] } | null> {
    const locked = await tx
      .select({ id: accounts.id })
      .from(accounts)
      .where(eq(accounts.id, accountId))
      .for('update');
    if (locked.length === 0) return null;
    const rows = await tx
      .select({ id: devices.id, revokedAt: devices.revokedAt })
      .from(devices)
      .where(eq(devices.accountId, accountId));
    return {
      current: rows.filter((row) => row.revokedAt === null).map((row) => row.id),
      revoked: rows.filter((row) => row.revokedAt !== null).map((row) => row.id),
    };
  }

  /**
   * Deletes the account row: its devices, tokens, challenges, link codes and
   * push subscriptions go with it (foreign keys cascade), and its handle is free.
   */
  async deleteAccount(tx: Executor, accountId: string): Promise<void> {
    await tx.delete(accounts).where(eq(accounts.id, accountId));
  }

  /** Marks the device seen, with the others marked within a moment: one statement for them all. */
  touchDevice(deviceId: string): Promise<void> {
    return this.seenMarks.load(deviceId);
  }

  // --- challenges ---

  async insertChallenge(deviceId: string, challengeHash: Buffer, expiresAt: Date): Promise<void> {
    await this.db.insert(authChallenges).values({ deviceId, challengeHash, expiresAt });
  }

  /** Deletes the challenge (single use) and says whether it existed unexpired. */
  async consumeChallenge(tx: Executor, deviceId: string, challengeHash: Buffer): Promise<boolean> {
    const rows = await tx
      .delete(authChallenges)
      .where(
        and(eq(authChallenges.deviceId, deviceId), eq(authChallenges.challengeHash, challengeHash)),
      )
      .returning({ expiresAt: authChallenges.expiresAt });
    return rows.length > 0 && rows[0].expiresAt.getTime() > Date.now();
  }

  // --- tokens ---

  async insertToken(
    tx: Executor,
    deviceId: string,
    tokenHash: Buffer,
    expiresAt: Date,
  ): Promise<void> {
    await tx.insert(authTokens).values({ deviceId, tokenHash, expiresAt });
  }

  /** Unexpired token hashes of a current device, with its account. */
  liveTokenHashes(deviceId: string): Promise<LiveToken[]> {
    return this.tokensByDevice.load(deviceId);
  }

  private async queryLiveTokens(deviceIds: string[]): Promise<LiveToken[][]> {
    const result = await this.pool.query<LiveToken>({
      ...LIVE_TOKENS,
      values: [deviceIds],
    });
    return groupRowsBy(deviceIds, result.rows, (row) => row.deviceId);
  }

  /** The state of each (device, token hash), in order; the checks of one turn share a statement. */
  tokenStates(tokens: TokenKey[]): Promise<TokenState[]> {
    return Promise.all(tokens.map((token) => this.tokenStateReads.load(token)));
  }

  private async queryTokenStates(tokens: TokenKey[]): Promise<TokenState[]> {
    const result = await this.pool.query<{ index: string; state: TokenState }>({
      ...TOKEN_STATES,
      values: [
        tokens.map((token) => token.deviceId),
        tokens.map((token) => Buffer.from(token.tokenHash, 'base64')),
      ],
    });
    const states = tokens.map((): TokenState => 'revoked');
    for (const row of result.rows) states[Number(row.index) - 1] = row.state;
    return states;
  }

  // --- link codes ---

  async insertLinkCode(
    accountId: string,
    createdByDeviceId: string,
    codeHash: Buffer,
    expiresAt: Date,
  ): Promise<void> {
    await this.db.insert(linkCodes).values({ accountId, createdByDeviceId, codeHash, expiresAt });
  }

  /** Deletes the code (single use); the account it links to, if it was valid. */
  async consumeLinkCode(tx: Executor, codeHash: Buffer): Promise<string | null> {
    const rows = await tx
      .delete(linkCodes)
      .where(eq(linkCodes.codeHash, codeHash))
      .returning({ accountId: linkCodes.accountId, expiresAt: linkCodes.expiresAt });
    const row = rows[0];
    return row && row.expiresAt.getTime() > Date.now() ? row.accountId : null;
  }

  /** Removes expired challenges, tokens and link codes (run by retention). */
  async deleteExpiredSecrets(): Promise<number> {
    const now = sql`now()`;
    const results = await Promise.all([
      this.db
        .delete(authChallenges)
        .where(lt(authChallenges.expiresAt, now))
        .returning({ id: authChallenges.deviceId }),
      this.db
        .delete(authTokens)
        .where(lt(authTokens.expiresAt, now))
        .returning({ id: authTokens.deviceId }),
      this.db
        .delete(linkCodes)
        .where(lt(linkCodes.expiresAt, now))
        .returning({ id: linkCodes.accountId }),
    ]);
    return results.reduce((total, rows) => total + rows.length, 0);
  }
}
