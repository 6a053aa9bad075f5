// The operator's command line for the admin API's credentials and the
// hash-chained logs (docs/retention.md):
//   npm run admin -- credential create --name ops     (prints the credential once)
//   npm run admin -- credential list | credential revoke <id>
//   npm run audit:verify [-- --log audit|purge] [--expect-head <hex>]
// It reads DATABASE_URL like the server.
import { Command } from 'commander';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { AdminCredentials } from '../src/admin/admin-credentials.js';
import { ChainedLog, type ChainedTable } from '../src/audit/chained-log.js';
import { type ChainedRow, verifyChain } from '../src/audit/hash-chain.js';
import { initSodium } from '../src/common/crypto.js';
import { loadEnv } from '../src/config/env.js';
import * as schema from '../src/db/schema/index.js';

const READ_PAGE = 5000;

async function withDatabase<T>(work: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: loadEnv().DATABASE_URL, max: 2 });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

const credentials = (pool: pg.Pool) => new AdminCredentials(drizzle({ client: pool, schema }));

/** Reads a whole log in pages, in seq order. */
async function readAll(log: ChainedLog, table: ChainedTable): Promise<ChainedRow[]> {
  const rows: ChainedRow[] = [];
  for (;;) {
    const page = await log.read(table, rows.at(-1)?.seq ?? 0, READ_PAGE);
    rows.push(...page);
    if (page.length < READ_PAGE) return rows;
  }
}

const program = new Command('admin').description('Supernode admin credentials and audit logs');
const credential = program.command('credential').description('admin API credentials');

credential
  .command('create')
  .requiredOption('--name <name>', 'who or what holds it')
  .description('make a credential; it is printed once, only its hash is kept')
  .action(async ({ name }: { name: string }) => {
    await initSodium();
    const made = await withDatabase((pool) => credentials(pool).create(name));
    console.log(`credential ${made.id} (${name}):\n${made.token}`);
  });

credential.command('list').action(async () => {
  const rows = await withDatabase((pool) => credentials(pool).list());
  for (const row of rows)
    console.log(
      `${row.id}  ${row.name}  ${row.createdAt.toISOString()}${row.revokedAt ? `  revoked ${row.revokedAt.toISOString()}` : ''}`,
    );
});

credential.command('revoke <id>').action(async (id: string) => {
  const revoked = await withDatabase((pool) => credentials(pool).revoke(id));
  console.log(revoked ? `revoked ${id}` : `no current credential ${id}`);
  if (!revoked) process.exitCode = 1;
});

program
  .command('verify')
  .description('check the hash chains of the audit and purge logs; exit 1 on any fault')
  .option('--log <log>', 'audit, purge or both', 'both')
  .option('--expect-head <hex>', 'the head hash kept elsewhere last time (one log only)')
  .action(async (options: { log: string; expectHead?: string }) => {
    const tables: ChainedTable[] =
      options.log === 'audit'
        ? ['audit_log']
        : options.log === 'purge'
          ? ['purge_log']
          : ['audit_log', 'purge_log'];
    let faults = 0;
    await withDatabase(async (pool) => {
      const log = new ChainedLog(pool);
      for (const table of tables) {
        const check = verifyChain(await readAll(log, table), options.expectHead);
        console.log(`${table}: ${check.rows} rows, head ${check.head}`);
        for (const fault of check.faults)
          console.log(`  ${table} row ${fault.seq}: ${fault.kind}: ${fault.detail}`);
        faults += check.faults.length;
      }
    });
    console.log(faults ? `FAILED: ${faults} faults` : 'ok: every chain is intact');
    if (faults) process.exitCode = 1;
  });

await program.parseAsync();
