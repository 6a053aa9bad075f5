import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { BenchItem } from '../lib/context.js';
import { monoMs } from '../lib/clock.js';
import { CpuMeter } from '../lib/cpu.js';
import { progress } from '../lib/progress.js';
import { messageIndexesDdl, messageTablesOnlyDdl } from './raw-schema.js';

const PLAIN = { messages: 'bench_purge_messages', deliveries: 'bench_purge_deliveries' };
const PARTED = { messages: 'bench_part_messages', deliveries: 'bench_part_deliveries' };
// The server's own partitioned tables whose day partitions the purge drops,
// copied (columns, defaults, indexes) as plain tables: a detached partition is
// such a table. Their DROP is the bare part of the server's purge.
const SERVER_PARTITIONED = {
  messages: 'messages',
  bodies: 'message_bodies',
  deliveries: 'deliveries',
} as const;
const SAME = {
  messages: 'bench_same_messages',
  bodies: 'bench_same_bodies',
  deliveries: 'bench_same_deliveries',
} as const;
const SEED_CHUNK = 100_000;

/**
 * Seeds `total` expired messages (1 KiB body, 3 deliveries each) in chunks,
 * an equal share through each of `inserts` at once (one connection each: the
 * cores fill up faster), then runs `finish` (indexes, ANALYZE, CHECKPOINT: so
 * that no checkpoint falls inside the timed delete).
 */
export async function seedExpired(
  label: string,
  total: number,
  inserts: ((count: number) => Promise<unknown>)[],
  finish: () => Promise<unknown>,
): Promise<number> {
  const started = monoMs();
  let seeded = 0;
  await Promise.all(
    inserts.map(async (insert, index) => {
      const share = Math.floor(total / inserts.length) + (index === 0 ? total % inserts.length : 0);
      for (let done = 0; done < share;) {
        const count = Math.min(SEED_CHUNK, share - done);
        done += count;
        await insert(count);
        seeded += count;
        if (seeded % (SEED_CHUNK * 4) === 0) progress(`${label}: seeded ${seeded} of ${total}`);
      }
    }),
  );
  await finish();
  return (monoMs() - started) / 1000;
}

/**
 * One day's expired messages in the server's layout (message, body and one
 * delivery per device; with `claims`, the idempotency claims too), expiring
 * at $8. $1-$3: sender account, sender device, recipient account; $4: the
 * body; $5: how many; $6: the wrapped key; $7: the devices.
 */
export function expiredDaySql(tables: {
  messages: string;
  bodies: string;
  deliveries: string;
  claims?: string;
}): string {
  return `
WITH m AS (
  INSERT INTO ${tables.messages}
    (sender_account_id, sender_device_id, client_message_id, recipient_account_id,
     device_count, pending_count, accepted_at, expires_at)
  SELECT $1, $2, gen_random_uuid(), $3, 3, 3, $8::timestamptz - interval '1 day', $8::timestamptz
    FROM generate_series(1, $5::int)
  RETURNING id, seq, sender_device_id, client_message_id, accepted_at, expires_at
),${
    tables.claims
      ? ` claims AS (
  INSERT INTO ${tables.claims} (sender_device_id, client_message_id, message_id, accepted_at, expires_at)
  SELECT sender_device_id, client_message_id, id, accepted_at, expires_at FROM m
),`
      : ''
  } bodies AS (
  INSERT INTO ${tables.bodies} (message_id, expires_at, body) SELECT id, expires_at, $4 FROM m
)
INSERT INTO ${tables.deliveries} (device_id, message_seq, message_id, expires_at, wrapped_key)
SELECT d.device_id, m.seq, m.id, m.expires_at, $6
  FROM m CROSS JOIN unnest($7::uuid[]) AS d(device_id)`;
}

const PARTITIONED_DDL = `
CREATE TABLE ${PARTED.messages} (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  seq bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
  sender_account_id uuid NOT NULL, sender_device_id uuid NOT NULL, client_message_id uuid NOT NULL,
  recipient_account_id uuid, conversation_id uuid, body bytea,
  device_count integer NOT NULL, pending_count integer NOT NULL,
  accepted_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL, fanned_out_at timestamptz,
  PRIMARY KEY (id, expires_at)
) PARTITION BY RANGE (expires_at);
CREATE TABLE ${PARTED.messages}_expired PARTITION OF ${PARTED.messages} FOR VALUES FROM (MINVALUE) TO ('CUT');
CREATE TABLE ${PARTED.messages}_live PARTITION OF ${PARTED.messages} FOR VALUES FROM ('CUT') TO (MAXVALUE);
CREATE TABLE ${PARTED.deliveries} (
  device_id uuid NOT NULL, message_seq bigint NOT NULL, message_id uuid NOT NULL,
  wrapped_key bytea NOT NULL, expires_at timestamptz NOT NULL,
  PRIMARY KEY (device_id, message_seq, expires_at)
) PARTITION BY RANGE (expires_at);
CREATE TABLE ${PARTED.deliveries}_expired PARTITION OF ${PARTED.deliveries} FOR VALUES FROM (MINVALUE) TO ('CUT');
CREATE TABLE ${PARTED.deliveries}_live PARTITION OF ${PARTED.deliveries} FOR VALUES FROM ('CUT') TO (MAXVALUE);`;
const PARTITIONED_INDEXES = `
CREATE INDEX ON ${PARTED.messages} (expires_at);
CREATE INDEX ON ${PARTED.deliveries} (message_id);`;

function seedSql(tables: { messages: string; deliveries: string }, partitioned: boolean): string {
  return `
WITH m AS (
  INSERT INTO ${tables.messages}
    (sender_account_id, sender_device_id, client_message_id, recipient_account_id, body,
     device_count, pending_count, accepted_at, expires_at, fanned_out_at)
  SELECT $1, $2, gen_random_uuid(), $3, $4, 3, 3,
         now() - interval '2 days', now() - interval '1 day', now() - interval '2 days'
    FROM generate_series(1, $5::int)
  RETURNING id, seq${partitioned ? ', expires_at' : ''})
INSERT INTO ${tables.deliveries} (device_id, message_seq, message_id, wrapped_key${partitioned ? ', expires_at' : ''})
SELECT d.device_id, m.seq, m.id, $6${partitioned ? ', m.expires_at' : ''}
  FROM m CROSS JOIN unnest($7::uuid[]) AS d(device_id)`;
}

/**
 * Raw purge ceiling: N expired messages (1 KiB body, 3 deliveries each) in
 * scratch tables of the stored shape, removed by one bare DELETE (deliveries
 * go by ON DELETE CASCADE, as in the server's schema); for comparison, the
 * same rows in an expiry-range partition of a two-table layout (the body in
 * the message row) removed by DROPping the partition; and the same rows in
 * copies of the server's own partitioned tables (the purge's target: the
 * bare DROP of the same partitions), dropped in one statement.
 */
export const rawPurge: BenchItem = {
  name: 'raw-purge',
  kind: 'ceiling',
  description:
    'bare DELETE of N expired messages (+3N deliveries) vs DROP of their partitions (two-table layout, and the server’s own)',
  needsServer: false,
  // Three copies seeded (one with its indexes from the start), a DELETE and two DROPs.
  maxSeconds: (s) => 60 + s.purgeRows / 5000,
  async run(context, result) {
    const s = context.settings;
    const client = new pg.Client({ connectionString: context.databaseUrl });
    const second = new pg.Client({ connectionString: context.databaseUrl });
    const third = new pg.Client({ connectionString: context.databaseUrl });
    await Promise.all([client.connect(), second.connect(), third.connect()]);
    const sameTables = [SAME.deliveries, SAME.bodies, SAME.messages].join(', ');
    const drop = () =>
      client.query(
        `DROP TABLE IF EXISTS ${PLAIN.deliveries}, ${PLAIN.messages}, ${PARTED.deliveries}, ${PARTED.messages}, ${sameTables}`,
      );
    try {
      await drop();
      // Only where the bench database holds the server's schema (migrated).
      const serverSchema = await client.query<{ found: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AS found',
        [SERVER_PARTITIONED.bodies],
      );
      const withSame = serverSchema.rows[0].found;
      if (withSame)
        for (const table of Object.keys(SAME) as (keyof typeof SAME)[])
          await client.query(
            `CREATE TABLE ${SAME[table]} (LIKE ${SERVER_PARTITIONED[table]} INCLUDING ALL)`,
          );
      await client.query(messageTablesOnlyDdl(PLAIN.messages, PLAIN.deliveries));
      const cut = new Date(Date.now() - 12 * 3600_000).toISOString();
      await client.query(PARTITIONED_DDL.replaceAll('CUT', cut));
      const values = (count: number) => [
        randomUUID(),
        randomUUID(),
        randomUUID(),
        randomBytes(1024),
        count,
        randomBytes(72),
        [randomUUID(), randomUUID(), randomUUID()],
      ];
      const plainSql = seedSql(PLAIN, false);
      const partedSql = seedSql(PARTED, true);
      const sameSql = expiredDaySql(SAME);
      const expiredAt = new Date(Date.now() - 24 * 3600_000);
      // The copies at once, one connection each. The two-table layout's
      // indexes are built after the rows; the server's copies have theirs
      // from the start, as its partitions have while messages come in.
      const plain = (count: number) => client.query(plainSql, values(count));
      const parted = (count: number) => second.query(partedSql, values(count));
      const same = (count: number) => third.query(sameSql, [...values(count), expiredAt]);
      const seeders = withSame ? [plain, parted, same] : [plain, parted];
      progress(
        `raw-purge: seeding ${s.purgeRows} expired messages (+${s.purgeRows * 3} deliveries), ${seeders.length} times`,
      );
      const seedSeconds = await seedExpired(
        'raw-purge',
        s.purgeRows * seeders.length,
        seeders,
        async () => {
          await Promise.all([
            client.query(messageIndexesDdl(PLAIN.messages, PLAIN.deliveries)),
            second.query(PARTITIONED_INDEXES),
          ]);
          await client.query(`ANALYZE ${PLAIN.messages}, ${PLAIN.deliveries}`);
          await client.query('CHECKPOINT');
        },
      );

      progress('raw-purge: bare DELETE');
      const meter = await CpuMeter.start();
      let started = monoMs();
      const deleted = await client.query(`DELETE FROM ${PLAIN.messages} WHERE expires_at <= now()`);
      const deleteSeconds = (monoMs() - started) / 1000;
      const cores = await meter.stop(context.cpuGroups());

      progress('raw-purge: DROP of the expired partitions');
      started = monoMs();
      await client.query('BEGIN');
      await client.query(`DROP TABLE ${PARTED.deliveries}_expired, ${PARTED.messages}_expired`);
      await client.query('COMMIT');
      const dropSeconds = (monoMs() - started) / 1000;

      let sameSeconds: number | null = null;
      if (withSame) {
        progress('raw-purge: DROP of the same rows in the server’s own layout');
        started = monoMs();
        await client.query('BEGIN');
        await client.query(`DROP TABLE ${sameTables}`);
        await client.query('COMMIT');
        sameSeconds = (monoMs() - started) / 1000;
      }

      result.figures.push(
        {
          key: 'raw-purge.delete_s',
          label: `bare DELETE of ${s.purgeRows} expired messages (+${s.purgeRows * 3} deliveries)`,
          value: deleteSeconds,
          unit: 's',
        },
        {
          key: 'raw-purge.drop_partition_s',
          label:
            'DROP of the partitions holding the same rows (two tables, the body in the message row)',
          value: dropSeconds,
          unit: 's',
        },
        {
          key: 'raw-purge.drop_same_partitions_s',
          label:
            'DROP of the same rows in the server’s own partitions (messages, bodies, deliveries, with their indexes)',
          value: sameSeconds,
          unit: 's',
          note: withSame ? undefined : 'the bench database has no server schema',
        },
      );
      result.details = {
        rows: s.purgeRows,
        deleted: deleted.rowCount,
        seedSeconds,
        deleteRowsPerSecond: (deleted.rowCount ?? 0) / deleteSeconds,
        cores,
      };
    } finally {
      await drop().catch(() => undefined);
      await Promise.all([client.end(), second.end(), third.end()]);
    }
  },
};
