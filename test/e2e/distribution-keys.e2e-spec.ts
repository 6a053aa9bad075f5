import type pg from 'pg';
import { TABLE_DISTRIBUTION } from '../../src/db/distribution.js';
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
