import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { sleep } from './clock.js';
import { progress } from './progress.js';
import { nodeArgsFromEnv, startedProcesses } from './rpc.js';

// BENCH_SERVER_ROOT runs the server built in another checkout (bench/ab.sh:
// the same harness and load against two versions of the server).
const ROOT = path.resolve(
  process.env.BENCH_SERVER_ROOT ?? path.resolve(import.meta.dirname, '..', '..'),
);
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
const API_CLUSTER = path.join(import.meta.dirname, 'api-cluster.ts');

export interface ServerProcess {
  role: 'api' | 'worker';
  child: ChildProcess;
  pid: number;
  /** The pids doing the work: `pid`, or the children of an API cluster (--api-processes). */
  pids: number[];
  logFile: string;
  /** Why the process is gone, when it ended without stop() (crash, or killed by someone). */
  readonly died: string | undefined;
  stop(): Promise<void>;
}

export interface ServerEnv {
  DATABASE_URL: string;
  REDIS_URL: string;
  REDIS_PREFIX: string;
  [name: string]: string;
}

/**
 * The benchmark's server settings on top of the defaults of src/config/env.ts:
 * rate limits that cannot cap a run (one address opens thousands of accounts
 * and sends thousands of messages a second), /metrics open on the API's port
 * whatever the shell exports, and a purge that runs only when
 * the purge scenario asks for it.
 */
export const BENCH_SERVER_SETTINGS: Record<string, string> = {
  LOG_LEVEL: 'log',
  RATE_LIMIT_ACCOUNT_CREATE: '1000000000',
  RATE_LIMIT_AUTH: '1000000000',
  RATE_LIMIT_SEND_PER_DEVICE: '1000000000',
  RATE_LIMIT_LINK_CODES: '1000000000',
  RATE_LIMIT_CONVERSATIONS: '1000000000',
  RATE_LIMIT_MEMBER_ADDS: '1000000000',
  RATE_LIMIT_DIRECTORY: '1000000000',
  RATE_LIMIT_STREAM_CONNECT: '1000000000',
  RATE_LIMIT_ACK: '1000000000',
  // The report reads the API's own /metrics on its public port.
  METRICS_PORT: '',
  METRICS_TOKEN: '',
  PURGE_INTERVAL_SECONDS: '86400',
  EXPIRY_INTERVAL_SECONDS: '86400',
};

/**
 * Starts the built server (dist/src/main.js) as its own process with
 * ROLE=api or ROLE=worker; `apiProcesses` > 1 starts that many API processes
 * behind the one port (lib/api-cluster.ts).
 */
export async function startServer(
  role: 'api' | 'worker',
  env: ServerEnv,
  port: number,
  logFile: string,
  apiProcesses = 1,
): Promise<ServerProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const clustered = role === 'api' && apiProcesses > 1;
  const args = clustered
    ? ['--import', 'tsx', API_CLUSTER]
    : [...nodeArgsFromEnv('BENCH_SERVER_NODE_ARGS'), MAIN];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...BENCH_SERVER_SETTINGS,
      ...env,
      ROLE: role,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_OPTIONS: '',
      ...(clustered && {
        API_CLUSTER_MAIN: MAIN,
        API_CLUSTER_SIZE: String(apiProcesses),
        API_CLUSTER_NODE_ARGS: JSON.stringify(nodeArgsFromEnv('BENCH_SERVER_NODE_ARGS')),
      }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  startedProcesses.add(child);
  const log = createWriteStream(logFile);
  let output = '';
  const collect = (chunk: Buffer) => {
    log.write(chunk);
    if (output.length < 64 * 1024) output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let stopping = false;
  let died: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      startedProcesses.delete(child);
      log.end();
      if (!stopping) {
        died = `the ${role} process (pid ${child.pid}) exited on its own: ${signal ? `signal ${signal}` : `code ${code}`}, log in ${logFile}`;
        progress(died);
      }
      resolve();
    }),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${role} process exited at start:\n${output.slice(-2000)}`);
    }
    const ready =
      role === 'worker'
        ? output.includes('worker started')
        : clustered
          ? output.includes('processes listening')
          : await isReady(port);
    if (ready) break;
    if (Date.now() > deadline) {
      // Not left running: it would hold the port of the next try.
      stopping = true;
      child.kill('SIGKILL');
      await exited;
      throw new Error(`${role} process not ready after 30 s`);
    }
    await sleep(100);
  }
  return {
    role,
    child,
    pid: child.pid ?? -1,
    pids: clustered ? await childrenOf(child.pid ?? -1) : [child.pid ?? -1],
    logFile,
    get died() {
      return died;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function isReady(port: number): Promise<boolean> {
  try {
    const answer = await fetch(`http://127.0.0.1:${port}/health/ready`, {
      signal: AbortSignal.timeout(1000),
    });
    return answer.status === 200;
  } catch {
    return false;
  }
}

/** A free TCP port (bind to 0, read it back, release). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Resident set size of a process in KiB, from /proc (Linux). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}
