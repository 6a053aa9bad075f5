import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ENV, type Env } from '../../config/env.js';
import { PG_POOL } from '../../db/db.module.js';
import { atRestMasterKey, expiryDayKeys, heldMessages } from '../../db/schema/index.js';
import { sqlNames } from '../../db/sql-names.js';
import { preparedStatement, statementText } from '../../db/statements.js';
import { open, seal, utcDay } from './sealing.js';

const KEY_BYTES = 32;
const dayKeyContext = (day: string) => Buffer.from(`supernode-day-key-v1:${day}`, 'utf8');

// Keys of days that are over are dropped from memory this often at most (the
// purge destroys them in PostgreSQL; a process only ever needs them until then).
const SWEEP_INTERVAL_MS = 60_000;

const DAY_KEY = sqlNames(expiryDayKeys);
const HELD = sqlNames(heldMessages);
const MASTER = sqlNames(atRestMasterKey);

// Not a day a legal hold still needs (held_messages sealed under its key).
const DESTROY_ENDED = statementText(
  'day-keys-destroy-ended',
  `DELETE FROM ${DAY_KEY.$table} k
    WHERE k.${DAY_KEY.day} < (now() AT TIME ZONE 'UTC')::date
      AND NOT EXISTS (SELECT 1 FROM ${HELD.$table} h WHERE h.${HELD.keyDay} = k.${DAY_KEY.day})
    RETURNING k.${DAY_KEY.day}::text AS day`,
);

const LOAD_DAY_KEY = preparedStatement(
  'expiry-day-key',
  `SELECT ${DAY_KEY.wrappedKey} AS wrapped_key FROM ${DAY_KEY.$table} WHERE ${DAY_KEY.day} = $1`,
);

const INSERT_DAY_KEY = statementText(
  'day-keys-insert',
  `INSERT INTO ${DAY_KEY.$table} (${DAY_KEY.day}, ${DAY_KEY.wrappedKey}) VALUES ($1, $2) ON CONFLICT (${DAY_KEY.day}) DO NOTHING`,
);

// The table holds one row (a check constraint): its id is always 1.
const INSERT_MASTER_KEY = statementText(
  'day-keys-insert-master-key',
  `INSERT INTO ${MASTER.$table} (${MASTER.id}, ${MASTER.key}) VALUES (1, $1) ON CONFLICT (${MASTER.id}) DO NOTHING`,
);

const LOAD_MASTER_KEY = statementText(
  'day-keys-master-key',
  `SELECT ${MASTER.key} AS key FROM ${MASTER.$table}`,
);

/**
 * The keys that seal message ciphertext at rest, one per UTC day of expiry
 * (expiry_day_keys). A day's key is made by the first process that seals a
 * row for that day, kept wrapped by the master key, and destroyed by the
 * purge once the day is over: from then on, every copy of a row sealed under
 * it (a backup, a replica, the WAL, the blocks of a dropped partition) is
 * unreadable. Each process keeps the keys it used in memory until their day
 * is over.
 */
@Injectable()
export class DayKeys implements OnModuleInit {
  private readonly logger = new Logger(DayKeys.name);
  private readonly keys = new Map<string, Promise<Uint8Array>>();
  private master: Promise<Uint8Array> | undefined;
  private sweptAt = 0;

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  onModuleInit(): void {
    if (this.env.AT_REST_MASTER_KEY) return;
    this.logger.warn(
      'AT_REST_MASTER_KEY is not set: the master key of the at-rest encryption is kept in PostgreSQL, so a copy of the database can read the messages it holds until their day is purged; set it (docs/retention.md)',
    );
    // Generated and kept on the first start; if PostgreSQL is not there yet,
    // the first message stored tries again.
    this.masterKey().catch(() => undefined);
  }

  /** The keys that seal rows of these days: made now where no process made one yet. */
  forSealing(days: Iterable<string>): Promise<Map<string, Uint8Array>> {
    return this.keysOf(days, (day) => this.loadOrCreate(day));
  }

  /** The keys that open rows of these days; fails when one was destroyed (its rows are expired). */
  forOpening(days: Iterable<string>): Promise<Map<string, Uint8Array>> {
    return this.keysOf(days, async (day) => {
      const key = await this.load(day);
      if (!key) throw new Error(`the key of ${day} is destroyed: its rows were shredded`);
      return key;
    });
  }

  /**
   * Destroys the keys of the days that are over, except those a legal hold
   * still needs (held_messages sealed under them); returns their days.
   */
  async destroyEnded(): Promise<string[]> {
    const result = await this.pool.query<{ day: string }>(DESTROY_ENDED);
    const days = result.rows.map((row) => row.day).sort();
    for (const day of days) this.keys.delete(day);
    return days;
  }

  private async keysOf(
    days: Iterable<string>,
    load: (day: string) => Promise<Uint8Array>,
  ): Promise<Map<string, Uint8Array>> {
    this.sweepEndedDays();
    const distinct = [...new Set(days)];
    const keys = await Promise.all(distinct.map((day) => this.cached(day, load)));
    return new Map(distinct.map((day, index) => [day, keys[index]]));
  }

  private cached(day: string, load: (day: string) => Promise<Uint8Array>): Promise<Uint8Array> {
    let key = this.keys.get(day);
    if (!key) {
      key = load(day);
      this.keys.set(day, key);
      // PostgreSQL was down, or the key is gone: the next call asks again.
      key.catch(() => this.keys.delete(day));
    }
    return key;
  }

  private sweepEndedDays(): void {
    const now = Date.now();
    if (now - this.sweptAt < SWEEP_INTERVAL_MS) return;
    this.sweptAt = now;
    const today = utcDay(now);
    for (const day of this.keys.keys()) if (day < today) this.keys.delete(day);
  }

  private async load(day: string): Promise<Uint8Array | null> {
    const result = await this.pool.query<{ wrapped_key: Buffer }>({
      ...LOAD_DAY_KEY,
      values: [day],
    });
    const wrapped = result.rows[0]?.wrapped_key;
    return wrapped ? this.unwrap(day, wrapped) : null;
  }

  private async loadOrCreate(day: string): Promise<Uint8Array> {
    const existing = await this.load(day);
    if (existing) return existing;
    const fresh = randomBytes(KEY_BYTES);
    // Two processes may make one at once: the first insert wins, both read it.
    await this.pool.query(INSERT_DAY_KEY, [
      day,
      seal(fresh, await this.masterKey(), dayKeyContext(day)),
    ]);
    const stored = await this.load(day);
    if (!stored) throw new Error(`the key of ${day} was destroyed as it was made`);
    return stored;
  }

  private async unwrap(day: string, wrapped: Buffer): Promise<Uint8Array> {
    try {
      return open(wrapped, await this.masterKey(), dayKeyContext(day));
    } catch {
      throw new Error(
        `the key of ${day} does not open with this master key (was AT_REST_MASTER_KEY changed?)`,
      );
    }
  }

  private masterKey(): Promise<Uint8Array> {
    this.master ??= this.loadMasterKey().catch((error: unknown) => {
      this.master = undefined;
      throw error;
    });
    return this.master;
  }

  private async loadMasterKey(): Promise<Uint8Array> {
    if (this.env.AT_REST_MASTER_KEY) return this.env.AT_REST_MASTER_KEY;
    const generated = randomBytes(KEY_BYTES);
    await this.pool.query(INSERT_MASTER_KEY, [generated]);
    const result = await this.pool.query<{ key: Buffer }>(LOAD_MASTER_KEY);
    return result.rows[0].key;
  }
}
