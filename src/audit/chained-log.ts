import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { PG_POOL } from '../db/db.module.js';
import { auditLog, purgeLog } from '../db/schema/index.js';
import { sqlNames } from '../db/sql-names.js';
import { statementText } from '../db/statements.js';
import { type ChainedEntry, type ChainedRow, entryHash, GENESIS_HASH } from './hash-chain.js';

// Both tables have the same columns (admin.table.ts, chainedLogColumns).
function chainedStatements(key: string, table: typeof auditLog | typeof purgeLog) {
  const L = sqlNames(table);
  return {
    names: L,
    lastEntry: statementText(
      `${key}-last-entry`,
      `SELECT ${L.seq} AS seq, ${L.hash} AS hash FROM ${L.$table} ORDER BY ${L.seq} DESC LIMIT 1`,
    ),
    append: statementText(
      `${key}-append`,
      `INSERT INTO ${L.$table} (${L.seq}, ${L.at}, ${L.actor}, ${L.action}, ${L.subject}, ${L.details}, ${L.prevHash}, ${L.hash})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    ),
    read: statementText(
      `${key}-read`,
      `SELECT ${L.seq} AS seq, ${L.at} AS at, ${L.actor} AS actor, ${L.action} AS action, ${L.subject} AS subject,
              ${L.details} AS details, ${L.prevHash} AS "prevHash", ${L.hash} AS hash
         FROM ${L.$table} WHERE ${L.seq} > $1 ORDER BY ${L.seq} LIMIT $2`,
    ),
  };
}

const CHAINED = {
  audit_log: chainedStatements('audit-log', auditLog),
  purge_log: chainedStatements('purge-log', purgeLog),
};

/** The hash-chained, append-only tables. */
export type ChainedTable = keyof typeof CHAINED;

export type NewEntry = Omit<ChainedEntry, 'seq' | 'at'>;

/**
 * Appends to a hash-chained table. One writer at a time per table (a
 * transaction-scoped advisory lock), so that each row's seq and previous
 * hash are those of the row before it, whichever process writes.
 */
@Injectable()
export class ChainedLog {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async append(table: ChainedTable, entry: NewEntry): Promise<ChainedRow> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`chained:${table}`]);
      const last = await client.query<{ seq: string; hash: Buffer }>(CHAINED[table].lastEntry);
      const prevHash = last.rows[0]?.hash ?? GENESIS_HASH;
      // Milliseconds, as a Date holds them: the stored time reads back exactly and hashes the same.
      const row = { ...entry, seq: Number(last.rows[0]?.seq ?? 0) + 1, at: new Date() };
      const hash = entryHash(row, prevHash);
      await client.query(CHAINED[table].append, [
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.subject,
        JSON.stringify(row.details),
        prevHash,
        hash,
      ]);
      await client.query('COMMIT');
      return { ...row, prevHash, hash };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Per calendar month (UTC), how many rows of each named action (keys of `actions`). */
  async countsByMonth<Name extends string>(
    table: ChainedTable,
    actions: Record<Name, string>,
  ): Promise<({ period: string } & Record<Name, number>)[]> {
    const names = Object.keys(actions) as Name[];
    const L = CHAINED[table].names;
    // One count per action asked for: the text varies with them, so it is not prepared.
    const result = await this.pool.query<Record<string, string>>(
      `SELECT to_char(date_trunc('month', ${L.at} AT TIME ZONE 'UTC'), 'YYYY-MM') AS period,
              ${names.map((_name, index) => `count(*) FILTER (WHERE ${L.action} = $${index + 1}) AS c${index}`).join(', ')}
         FROM ${L.$table} WHERE ${L.action} = ANY($${names.length + 1}::text[])
        GROUP BY 1 ORDER BY 1`,
      [...names.map((name) => actions[name]), Object.values<string>(actions)],
    );
    return result.rows.map((row) => ({
      period: row.period,
      ...(Object.fromEntries(
        names.map((name, index) => [name, Number(row[`c${index}`])]),
      ) as Record<Name, number>),
    }));
  }

  /** Rows in seq order, from `afterSeq`, at most `limit`. */
  async read(table: ChainedTable, afterSeq = 0, limit = 1000): Promise<ChainedRow[]> {
    const result = await this.pool.query<ChainedRow & { seq: string }>(CHAINED[table].read, [
      afterSeq,
      limit,
    ]);
    return result.rows.map((row) => ({ ...row, seq: Number(row.seq) }));
  }
}
