import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/processes.js';

// npm run up / npm test start a PostgreSQL and a Redis of their own under
// .data/ where nothing answers at DATABASE_URL / REDIS_URL; npm run down
// stops them. Here on free ports and a data directory of this test's.

const run = promisify(execFile);

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(true));
    socket.once('error', () => resolve(false));
  });

describe('local services: up and down', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let ports: { postgres: number; redis: number };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'sn-services-'));
    // PostgreSQL runs as the postgres user when we are root: it must reach its directory.
    chmodSync(dataDir, 0o755);
    ports = { postgres: await freePort(), redis: await freePort() };
    env = {
      ...process.env,
      SN_DATA: dataDir,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${ports.postgres}/supernode`,
      REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    };
  });

  afterAll(async () => {
    await run('bash', ['scripts/down.sh'], { env }).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts both where nothing answers and says how to stop them; down stops both', async () => {
    const up = await run('bash', ['-c', 'source scripts/services.sh'], { env });
    expect(up.stdout).toContain(`starting a local PostgreSQL in ${dataDir}/postgres`);
    expect(up.stdout).toContain(`starting a local Redis in ${dataDir}/redis`);
    expect(up.stdout).toContain('npm run down stops it');
    expect(await answers(ports.postgres)).toBe(true);
    expect(await answers(ports.redis)).toBe(true);

    const down = await run('bash', ['scripts/down.sh'], { env });
    expect(down.stdout).toContain('stopped the PostgreSQL');
    expect(down.stdout).toContain('stopped the Redis');
    expect(await answers(ports.postgres)).toBe(false);
    expect(await answers(ports.redis)).toBe(false);

    // Nothing left to stop: said, not an error.
    const again = await run('bash', ['scripts/down.sh'], { env });
    expect(again.stdout).toContain('nothing of ours is running');
  }, 120_000);
});
