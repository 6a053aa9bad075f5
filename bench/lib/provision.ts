import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import { runMigrations } from '../../scripts/migrate.js';

/** A database URL with another database name. */
export function withDatabase(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export const databaseName = (databaseUrl: string): string =>
  decodeURIComponent(new URL(databaseUrl).pathname.slice(1));

async function withAdmin<T>(databaseUrl: string, work: (admin: pg.Client) => Promise<T>) {
  const admin = new pg.Client({ connectionString: withDatabase(databaseUrl, 'postgres') });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/** Creates and migrates a fresh database (through the project's own migrator). */
export async function createBenchDatabase(databaseUrl: string): Promise<void> {
  await runMigrations(databaseUrl);
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl).replaceAll('"', '""');
  await withAdmin(databaseUrl, (admin) =>
    admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  );
}

// A run is bounded to minutes: a bench database older than this was left by a
// run that was killed before its teardown (its name carries its start time).
const STALE_AFTER_SECONDS = 3600;

/** Drops bench_<unix seconds>_… databases left behind by killed runs; returns their names. */
export async function dropStaleBenchDatabases(databaseUrl: string): Promise<string[]> {
  return withAdmin(databaseUrl, async (admin) => {
    const found = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'",
    );
    const cutoff = Date.now() / 1000 - STALE_AFTER_SECONDS;
    const dropped: string[] = [];
    for (const { datname } of found.rows) {
      const startedAt = Number(datname.split('_')[1]);
      if (!(startedAt < cutoff)) continue;
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
      dropped.push(datname);
    }
    return dropped;
  });
}

/** Deletes every Redis key under `prefix:`; returns how many. */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export interface MachineInfo {
  date: string;
  commit: string;
  host: { cpus: number; cpuModel: string; memoryGiB: number; kernel: string; node: string };
  postgres: { version: string; settings: Record<string, string> };
  redis: { version: string; settings: Record<string, string> };
  limits: { openFilesSoft: number; openFilesHard: number };
}

const PG_SETTINGS = [
  'synchronous_commit',
  'fsync',
  'full_page_writes',
  'wal_level',
  'wal_sync_method',
  'commit_delay',
  'shared_buffers',
  'work_mem',
  'max_wal_size',
  'checkpoint_timeout',
  'max_connections',
  // Off on the CI machines (their conf.d): dead rows then go only by on-page pruning.
  'autovacuum',
];

function git(args: string[], cwd?: string): string {
  try {
    return execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

function openFileLimits(): { openFilesSoft: number; openFilesHard: number } {
  try {
    const limits = execFileSync('bash', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' });
    const [soft, hard] = limits.trim().split('\n').map(Number);
    return { openFilesSoft: soft, openFilesHard: hard };
  } catch {
    return { openFilesSoft: Number.NaN, openFilesHard: Number.NaN };
  }
}

export async function machineInfo(databaseUrl: string, redisUrl: string): Promise<MachineInfo> {
  // The commit of the server measured: another checkout's under bench/ab.sh.
  const serverRoot = process.env.BENCH_SERVER_ROOT;
  const harness = serverRoot ? `; harness at ${git(['rev-parse', '--short=12', 'HEAD'])}` : '';
  const commit = git(['rev-parse', '--short=12', 'HEAD'], serverRoot) + harness;
  const changed = git(['status', '--porcelain', '--untracked-files=no'], serverRoot)
    .split('\n')
    .filter(Boolean)
    .map((line) => line.trim().replace(/^\S+\s+/, ''));
  const postgres = await withAdmin(databaseUrl, async (admin) => {
    const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]
      .server_version;
    const rows = await admin.query<{ name: string; setting: string; unit: string | null }>(
      'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)',
      [PG_SETTINGS],
    );
    const settings: Record<string, string> = {};
    for (const name of PG_SETTINGS) {
      const row = rows.rows.find((candidate) => candidate.name === name);
      if (row) settings[name] = row.unit ? `${row.setting} (${row.unit})` : row.setting;
    }
    return { version, settings };
  });
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  let redisInfo: MachineInfo['redis'];
  try {
    const server = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown';
    const settings: Record<string, string> = {};
    for (const name of ['appendonly', 'appendfsync', 'save', 'maxmemory', 'io-threads']) {
      const answer = await redis.config('GET', name);
      if (answer.length === 2) settings[name] = answer[1] === '' ? '""' : answer[1];
    }
    redisInfo = { version, settings };
  } finally {
    redis.disconnect();
  }
  return {
    date: new Date().toISOString(),
    commit: changed.length
      ? `${commit} (uncommitted changes in ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', …' : ''})`
      : commit,
    host: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      kernel: `${os.type()} ${os.release()}`,
      node: process.version,
    },
    postgres,
    redis: redisInfo,
    limits: openFileLimits(),
  };
}
