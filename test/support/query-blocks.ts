import type pg from 'pg';
import { type DistributionGroup, TABLE_DISTRIBUTION } from '../../src/db/distribution.js';

/** A node of PostgreSQL's EXPLAIN (FORMAT JSON) plan, as far as this reads it. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Operation?: string;
  'Parent Relationship'?: string;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
}

/** One part of a statement that a distributed PostgreSQL plans as one query. */
export interface QueryBlock {
  name: string;
  /** The tables it reads, or joins to what it updates or deletes. */
  tables: string[];
}

/**
 * The query blocks of a plan and the tables each one joins. A CTE and an
 * uncorrelated subquery (PostgreSQL's InitPlans) are blocks of their own:
 * Citus runs each first and hands its rows to the rest as an intermediate
 * result ("recursive planning"), so tables in different blocks are never
 * joined with each other. What stays in a block is joined there: joins,
 * LATERAL subqueries and correlated subqueries (SubPlans). The table an
 * INSERT … SELECT writes is not joined to what it reads (Citus moves the
 * rows to their nodes), so it counts for no block; an UPDATE's or DELETE's
 * table is. `tableOf` names a partition's partitioned table.
 */
export function queryBlocks(plan: PlanNode, tableOf: (relation: string) => string): QueryBlock[] {
  const blocks = new Map<string, Set<string>>();
  const visit = (node: PlanNode, block: string) => {
    const relation = node['Relation Name'];
    if (relation && node.Operation !== 'Insert') {
      const tables = blocks.get(block) ?? new Set<string>();
      blocks.set(block, tables.add(tableOf(relation)));
    }
    for (const child of node.Plans ?? [])
      visit(child, child['Parent Relationship'] === 'InitPlan' ? child['Subplan Name']! : block);
  };
  visit(plan, 'the statement');
  return [...blocks].map(([name, tables]) => ({ name, tables: [...tables].sort() }));
}

/** The blocks that join tables of two or more distribution groups, as "block: tables". */
export function crossGroupBlocks(blocks: QueryBlock[]): string[] {
  return blocks.flatMap(({ name, tables }) => {
    const groups = new Set<DistributionGroup>();
    for (const table of tables) {
      const distribution = TABLE_DISTRIBUTION[table];
      if (distribution?.kind === 'distributed') groups.add(distribution.group);
    }
    return groups.size > 1 ? [`${name}: ${tables.join(', ')}`] : [];
  });
}

/**
 * The plan PostgreSQL makes of a statement for any parameters (its generic
 * plan), with every partition in it: pruning with the NULLs passed here
 * would drop the tables a real call reads. Nothing is executed.
 */
export async function genericPlan(client: pg.PoolClient, text: string): Promise<PlanNode> {
  // A held-account export is a cursor; its query is the plan.
  const query = text.replace(/^\s*DECLARE \w+ NO SCROLL CURSOR FOR/, '');
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
    await client.query('SET LOCAL enable_partition_pruning = off');
    await client.query(`PREPARE probe AS ${query}`);
    const {
      rows: [{ parameters }],
    } = await client.query<{ parameters: number }>(
      `SELECT cardinality(parameter_types) AS parameters FROM pg_prepared_statements WHERE name = 'probe'`,
    );
    const values = parameters
      ? `(${Array.from({ length: parameters }, () => 'NULL').join(', ')})`
      : '';
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (FORMAT JSON) EXECUTE probe${values}`,
    );
    return rows[0]['QUERY PLAN'][0].Plan;
  } finally {
    await client.query('ROLLBACK');
    await client.query('DEALLOCATE ALL');
  }
}

/** Partitions by name, each to its partitioned table (tables that are not partitions to themselves). */
export async function partitionRoots(pool: pg.Pool): Promise<(relation: string) => string> {
  const { rows } = await pool.query<{ partition: string; root: string }>(`
    SELECT c.relname AS partition, r.relname AS root FROM pg_class c
    JOIN pg_class r ON r.oid = pg_partition_root(c.oid)
    WHERE c.relispartition`);
  const roots = new Map(rows.map((row) => [row.partition, row.root]));
  return (relation) => roots.get(relation) ?? relation;
}
