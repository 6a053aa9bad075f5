import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { AfterCommitWork } from '../common/after-commit.js';
import { drizzle, NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { ENV, type Env } from '../config/env.js';
import * as schema from './schema/index.js';

export type Database = NodePgDatabase<typeof schema>;
/** A transaction handle; repositories accept either this or the database. */
export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

export const PG_POOL = Symbol('db:pg-pool');
export const DRIZZLE = Symbol('db:drizzle');

/** How much longer than PostgreSQL's own statement timeout the client waits for an answer. */
export const CLIENT_TIMEOUT_MARGIN_MS = 5000;

/**
 * Work a new PostgreSQL connection does before the pool hands it to anyone
 * (as pg-pool's `onConnect`): modules add theirs at start, such as planning
 * a statement whose first, cold plan would otherwise delay a request. A
 * step that fails costs only its warm-up, never the connection.
 */
@Injectable()
export class NewConnectionWork {
  private readonly steps: ((client: pg.ClientBase) => Promise<unknown>)[] = [];

  add(step: (client: pg.ClientBase) => Promise<unknown>): void {
    this.steps.push(step);
  }

  async run(client: pg.ClientBase): Promise<void> {
    for (const step of this.steps) await step(client).catch(() => undefined);
  }
}

export function createPool(env: Env, newConnectionWork?: NewConnectionWork): pg.Pool {
  const pool = new pg.Pool({
    connectionString: env.DATABASE_URL,
    max: env.DATABASE_POOL_MAX,
    // Fail fast instead of hanging when PostgreSQL is unreachable.
    connectionTimeoutMillis: 3000,
    // No statement may hold a connection and a core for long: PostgreSQL
    // cancels it (57014, answered 503). Maintenance that needs longer sets
    // its own (message-purge.repository.ts). The client gives up a little
    // later, for a server that cannot even cancel.
    statement_timeout: env.DATABASE_STATEMENT_TIMEOUT_MS,
    query_timeout: env.DATABASE_STATEMENT_TIMEOUT_MS + CLIENT_TIMEOUT_MARGIN_MS,
    // The hot statements are named, so PostgreSQL can plan each once per
    // connection. Left to choose, it re-plans them on every call: a custom
    // plan over the message tables' month of daily partitions often costs
    // more to make than the query. The generic plan prunes partitions when
    // it runs instead.
    // No JIT: once autoanalyze has given the partitions statistics, a
    // generic plan over all of them is estimated above jit_above_cost, and
    // PostgreSQL compiles it again on every execution, for far longer than
    // the page read itself runs (docs/delivery.md; BENCHMARKS.md, 'Decisions
    // the measurements justify').
    options: '-c plan_cache_mode=force_generic_plan -c jit=off',
    // pg-pool awaits the promise before it hands the connection out (its
    // `_promiseTry`); @types/pg declares the hook's return as void.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    onConnect: newConnectionWork && ((client) => newConnectionWork.run(client)),
  });
  // A client losing its connection (PostgreSQL restarted, the database
  // dropped) must not crash the process: idle ones report to the pool, and
  // every client gets a listener of its own for while it is checked out (the
  // query in flight still fails with the error).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

@Injectable()
class PoolCloser implements OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    private readonly afterCommit: AfterCommitWork,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.afterCommit.settled();
    await this.pool.end();
  }
}

@Global()
@Module({
  providers: [
    NewConnectionWork,
    { provide: PG_POOL, inject: [ENV, NewConnectionWork], useFactory: createPool },
    {
      provide: DRIZZLE,
      inject: [PG_POOL],
      useFactory: (pool: pg.Pool): Database => drizzle({ client: pool, schema }),
    },
    PoolCloser,
  ],
  exports: [PG_POOL, DRIZZLE, NewConnectionWork],
})
export class DbModule {}
