import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Env } from '../../src/config/env.js';
import { waitFor } from './wait.js';

const MAIN = path.resolve('dist/src/main.js');

export interface ServerProcess {
  role: 'api' | 'worker' | 'all';
  baseUrl: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the built server (`npm run build` first; the test script does) as a
 * separate process on the given environment, and waits until it is ready.
 */
export async function startServerProcess(
  env: Env,
  role: 'api' | 'worker' | 'all',
  port: number,
  /** Variables outside the app's own configuration (NODE_EXTRA_CA_CERTS, say). */
  processEnv: Record<string, string> = {},
): Promise<ServerProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build before this test`);
  const child = spawn(process.execPath, [MAIN], {
    // LOG_LEVEL=log at least: readiness is read from the startup lines.
    env: {
      ...process.env,
      ...stringEnv(env),
      ROLE: role,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'verbose' ? env.LOG_LEVEL : 'log',
      NODE_OPTIONS: '',
      ...processEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const ready =
    role === 'worker'
      ? () => output.includes('worker started')
      : () => output.includes('listening on');
  try {
    await waitFor(
      `${role} process to start`,
      () => {
        if (child.exitCode !== null) throw new Error(`${role} process exited: ${output}`);
        return ready();
      },
      // Three at once with tracing loaded took over 20 s on a loaded CI host.
      45_000,
    );
  } catch (error) {
    // A process that did not start in time is not left running behind the failed test.
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return {
    role,
    baseUrl,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function stringEnv(env: Env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env)
      .filter(([, value]) => value !== undefined)
      // Keys (AT_REST_MASTER_KEY) are configured in base64.
      .map(([key, value]) => [
        key,
        Buffer.isBuffer(value) ? value.toString('base64') : String(value),
      ]),
  );
}

/** A free TCP port (bind to 0, read it back, release). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Two API processes and a worker on `env`, each started and ready: the several-process layout. */
export async function startTwoApisAndAWorker(env: Env): Promise<ServerProcess[]> {
  return Promise.all([
    startServerProcess(env, 'api', await freePort()),
    startServerProcess(env, 'api', await freePort()),
    startServerProcess(env, 'worker', 0),
  ]);
}
