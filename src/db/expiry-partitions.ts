import type pg from 'pg';
import { statementText } from './statements.js';

// Partitions are kept a day beyond the longest TTL, so a send never lands in DEFAULT.
const PARTITION_SLACK_SECONDS = 24 * 3600;

// A function of migration 0004's: it names the partitions and their tables itself.
const ENSURE_PARTITIONS = statementText(
  'expiry-partitions-ensure',
  `SELECT ensure_expiry_partitions(now(), now() + make_interval(secs => $1::double precision)) AS created`,
);

/**
 * Makes the missing daily partitions of the message tables for every message
 * that can be accepted now (up to `maxTtlSeconds` ahead, plus a day); returns
 * how many days it created. Called by the migrator and by every purge run.
 */
export async function ensureExpiryPartitions(
  client: Pick<pg.ClientBase, 'query'>,
  maxTtlSeconds: number,
): Promise<number> {
  const result = await client.query<{ created: number }>(ENSURE_PARTITIONS, [
    maxTtlSeconds + PARTITION_SLACK_SECONDS,
  ]);
  return result.rows[0].created;
}
