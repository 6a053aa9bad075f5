import type pg from 'pg';
import { TABLE_DISTRIBUTION } from '../../src/db/distribution.js';
import {
  crossGroupBlocks,
  genericPlan,
  partitionRoots,
  queryBlocks,
} from '../support/query-blocks.js';
import { loadRegisteredStatements } from '../support/registered-statements.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';

interface UniqueKey {
  table: string;
  name: string;
  columns: string[];
}

interface ForeignKey {
  table: string;
  name: string;
  columns: string[];
  references: string;
  referencedColumns: string[];
}

/** The tables, their columns, unique keys and foreign keys, from PostgreSQL's catalog. */
async function readCatalog(pool: pg.Pool) {
  const query = async <T extends object>(sql: string) => (await pool.query<T>(sql)).rows;
  // Tables, not their partitions (a partition follows its parent).
  const tables = (
    await query<{ name: string }>(`
      SELECT c.relname AS name FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`)
  ).map((row) => row.name);
  const columns = new Map(
    (
      await query<{ name: string; columns: string[] }>(`
        SELECT c.relname AS name, array_agg(a.attname::text) AS columns FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        GROUP BY c.relname`)
    ).map((row) => [row.name, row.columns]),
  );
  // Primary keys and unique indexes; an expression's place lists no column.
  const uniqueKeys = await query<UniqueKey>(`
    SELECT t.relname AS table, i.relname AS name,
           array(SELECT a.attname::text FROM unnest(ix.indkey) AS k(attnum)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) AS columns
    FROM pg_index ix
    JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND ix.indisunique AND NOT t.relispartition`);
  const foreignKeys = await query<ForeignKey>(`
    SELECT t.relname AS table, c.conname AS name, r.relname AS references,
           array(SELECT a.attname::text FROM unnest(c.conkey) AS k(attnum)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns,
           array(SELECT a.attname::text FROM unnest(c.confkey) AS k(attnum)
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum)
             AS "referencedColumns"
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND c.contype = 'f' AND c.conparentid = 0`);
  return { tables, columns, uniqueKeys, foreignKeys };
}

type Catalog = Awaited<ReturnType<typeof readCatalog>>;

/** Distributed tables' unique keys that lack the distribution column (it alone says where a row goes). */
function keysWithoutDistributionColumn({ uniqueKeys }: Catalog): string[] {
  return uniqueKeys.flatMap((key) => {
    const distribution = TABLE_DISTRIBUTION[key.table];
    if (distribution?.kind !== 'distributed') return [];
    return key.columns.includes(distribution.column) ? [] : [`${key.name} (${key.table})`];
  });
}

/**
 * Foreign keys a distributed PostgreSQL could not enforce on one node: only
 * those to a reference table, or between co-located tables on their
 * distribution columns, can be.
 */
function unenforceableForeignKeys({ foreignKeys }: Catalog): string[] {
  return foreignKeys.flatMap((key) => {
    const from = TABLE_DISTRIBUTION[key.table];
    const to = TABLE_DISTRIBUTION[key.references];
    if (!from || !to) return [`${key.name}: a table without a distribution`];
    if (to.kind === 'reference') return [];
    const colocated =
      from.kind === 'distributed' &&
      to.kind === 'distributed' &&
      from.group === to.group &&
      key.columns.join() === from.column &&
      key.referencedColumns.join() === to.column;
    return colocated ? [] : [`${key.name} (${key.table} → ${key.references})`];
  });
}

// The migrated schema, read from PostgreSQL's catalog, against the
// distribution of every table (src/db/distribution.ts, docs/scale-out.md):
// what a distributed PostgreSQL (Citus) would need to place each row on one
// node and keep keys and foreign keys enforceable there.
describe('every table has a distribution, and no key stops it', () => {
  let world: TestEnv;
  let catalog: Catalog;

  beforeAll(async () => {
    world = await createTestEnv();
    catalog = await readCatalog(world.pool);
  }, 60_000);

  afterAll(() => world?.destroy());

  it('names every table, and only tables that exist, each by a column it has', () => {
    expect([...catalog.tables].sort()).toEqual(Object.keys(TABLE_DISTRIBUTION).sort());
    const missing = Object.entries(TABLE_DISTRIBUTION).flatMap(([table, distribution]) =>
      distribution.kind === 'distributed' &&
      !catalog.columns.get(table)?.includes(distribution.column)
        ? [`${table}.${distribution.column}`]
        : [],
    );
    expect(missing).toEqual([]);
  });

  it('has the distribution column in every primary and unique key of a distributed table', () => {
    expect(keysWithoutDistributionColumn(catalog)).toEqual([]);
  });

  it('has foreign keys only to a reference table, or to a co-located table on the distribution column', () => {
    expect(unenforceableForeignKeys(catalog)).toEqual([]);
  });

  it('finds a key that breaks the rule as soon as the schema has one', async () => {
    // A unique token hash across all devices, and the foreign key from link
    // codes to devices that the schema dropped: both would stop distribution.
    await world.pool.query('CREATE UNIQUE INDEX probe_token_hash ON auth_tokens (token_hash)');
    await world.pool.query(
      'ALTER TABLE link_codes ADD CONSTRAINT probe_creator FOREIGN KEY (created_by_device_id) REFERENCES devices (id)',
    );
    try {
      const changed = await readCatalog(world.pool);
      expect(keysWithoutDistributionColumn(changed)).toEqual(['probe_token_hash (auth_tokens)']);
      expect(unenforceableForeignKeys(changed)).toEqual(['probe_creator (link_codes → devices)']);
    } finally {
      await world.pool.query('ALTER TABLE link_codes DROP CONSTRAINT probe_creator');
      await world.pool.query('DROP INDEX probe_token_hash');
    }
  });
});

// Statements that still join tables of two distribution groups, and why
// they may. None is on a hot path (send, fan-out, catch-up, ack, expiry
// record, purge); on Citus each would be split as docs/scale-out.md says.
const CROSS_GROUP_JOINS_ALLOWED: Record<string, string> = {
  'legal-hold-export':
    'an operator’s export of one held account: rare, and read through a cursor at its own pace',
};

// Each statement's generic plan, read as Citus would split it: every CTE and
// uncorrelated subquery runs on its own and passes its rows on, so tables of
// different groups may meet only through such a result, never in one join
// (test/support/query-blocks.ts). A statement that joins a device's rows to
// a message's directly would need a join across nodes.
describe('no statement joins two distribution groups', () => {
  let world: TestEnv;
  let crossGroup: Map<string, string[]>;
  let client: pg.PoolClient;
  let tableOf: (relation: string) => string;

  const crossGroupOf = async (text: string) =>
    crossGroupBlocks(queryBlocks(await genericPlan(client, text), tableOf));

  beforeAll(async () => {
    world = await createTestEnv();
    tableOf = await partitionRoots(world.pool);
    client = await world.pool.connect();
    crossGroup = new Map();
    for (const [name, { text }] of await loadRegisteredStatements())
      crossGroup.set(name, await crossGroupOf(text));
  }, 60_000);

  afterAll(async () => {
    client?.release();
    await world?.destroy();
  });

  it('reads the plans of the hot statements', () => {
    expect([...crossGroup.keys()]).toEqual(
      expect.arrayContaining([
        'messages-insert-batch',
        'deliveries-pending-batch-capped',
        'deliveries-pending-by-ids',
        'deliveries-ack',
        'expiry-record-batch',
        'messages-delete-expired',
        'purge-copy-held',
      ]),
    );
  });

  it('joins a device’s rows to a message’s only through a CTE’s result', () => {
    const joined = [...crossGroup].flatMap(([name, blocks]) =>
      name in CROSS_GROUP_JOINS_ALLOWED ? [] : blocks.map((block) => `${name} › ${block}`),
    );
    expect(joined).toEqual([]);
  });

  it('lists as exceptions only statements that still need them', () => {
    const needless = Object.keys(CROSS_GROUP_JOINS_ALLOWED).filter(
      (name) => !crossGroup.get(name)?.length,
    );
    expect(needless).toEqual([]);
  });

  it('finds a join across groups as soon as a statement has one', async () => {
    // A delivery joined to its message, directly and through a correlated
    // subquery: both cross groups. Through a CTE's result neither does.
    expect(
      await crossGroupOf(
        'SELECT m.id FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.device_id = $1',
      ),
    ).toEqual(['the statement: deliveries, messages']);
    expect(
      await crossGroupOf(
        `WITH d AS MATERIALIZED (SELECT message_id, expires_at FROM deliveries WHERE device_id = $1)
         SELECT (SELECT array_agg(r.device_id) FROM message_receipts r JOIN deliveries x
                   ON x.message_id = r.message_id WHERE r.message_id = d.message_id) FROM d`,
      ),
    ).toEqual(['the statement: deliveries, message_receipts']);
    expect(
      await crossGroupOf(
        `WITH d AS MATERIALIZED (SELECT message_id, expires_at FROM deliveries WHERE device_id = $1)
         SELECT m.id FROM d JOIN messages m ON m.id = d.message_id AND m.expires_at = d.expires_at`,
      ),
    ).toEqual([]);
  });
});
