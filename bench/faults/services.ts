import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { sleep, waitUntil } from '../lib/clock.js';
import { freePort } from '../lib/server.js';

const run = promisify(execFile);

/**
 * A Redis of the fault run's own, on loopback (Debian's redis-server, as the
 * project's scripts install it): it can be flushed, restarted and filled
 * without touching the machine's shared one. No persistence, so a restart
 * loses everything, as FLUSHALL does.
 */
export class PrivateRedis {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.launch();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async launch(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await waitUntil(
      'redis-server to answer',
      () =>
        this.command('PING').then(
          (answer) => answer === 'PONG',
          () => false,
        ),
      30_000,
      100,
    );
  }

  /** Killed (SIGKILL) and started again after `downMs`. */
  async restart(downMs: number): Promise<void> {
    await this.kill();
    await sleep(downMs);
    await this.launch();
  }

  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async command(...args: (string | number)[]): Promise<unknown> {
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined); // the call itself fails and says why
    try {
      await client.connect();
      return await client.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      client.disconnect();
    }
  }
}

/**
 * A PostgreSQL cluster of the fault run's own (initdb in a temporary
 * directory, Debian's binaries, loopback, trust), which can be restarted
 * without touching the machine's shared one.
 */
export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly dataDir: string,
    private readonly bin: string,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
    const version = versions.sort((a, b) => Number(a) - Number(b)).at(-1);
    if (!version) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql');
    const bin = `/usr/lib/postgresql/${version}/bin`;
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'supernode-faults-pg-'));
    const postgres = new PrivatePostgres(await freePort(), dataDir, bin);
    if (process.getuid?.() === 0) {
      // PostgreSQL refuses to run as root.
      chmodSync(dataDir, 0o700);
      const { stdout } = await run('id', ['-u', 'postgres']);
      chownSync(dataDir, Number(stdout.trim()), Number(stdout.trim()));
    }
    await postgres.as('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-N']);
    await postgres.pgCtl('start');
    return postgres;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** A fast restart (`pg_ctl restart -m fast`: sessions are cut, as on a failover). */
  async restart(): Promise<void> {
    await this.as('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
    await this.pgCtl('start');
  }

  async stop(): Promise<void> {
    await this.as('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(
      () => undefined,
    );
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private pgCtl(action: 'start'): Promise<unknown> {
    return this.as('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      path.join(this.dataDir, 'server.log'),
      '-w',
      '-o',
      `-p ${this.port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200`,
      action,
    ]);
  }

  private as(program: string, args: string[]): Promise<unknown> {
    const binary = path.join(this.bin, program);
    return process.getuid?.() === 0
      ? run('runuser', ['-u', 'postgres', '--', binary, ...args])
      : run(binary, args);
  }
}
