import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './processes.js';
import { waitFor } from './wait.js';

/** A coturn TURN server on loopback with the REST-API shared secret (`use-auth-secret`). */
export interface Coturn {
  url: string;
  port: number;
  secret: string;
  /** Allocates a relay with `turnutils_uclient` over TCP and sends through it; true when it worked. */
  allocate(username: string, credential: string): Promise<{ ok: boolean; output: string }>;
  stop(): Promise<void>;
}

/**
 * Starts Debian's `turnserver` (scripts/coturn.sh installs it; scripts/test.sh
 * does that when it is missing) on a free loopback port, relaying on
 * loopback only (`allow-loopback-peers`: the test's peer is on this machine).
 */
export async function startCoturn(secret: string): Promise<Coturn> {
  const port = await freePort();
  const directory = mkdtempSync(path.join(tmpdir(), 'coturn-'));
  const relayBase = 40_000 + Math.floor(Math.random() * 200) * 100;
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=supernode.test',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--allow-loopback-peers',
      `--min-port=${relayBase}`,
      `--max-port=${relayBase + 99}`,
      '--log-file=stdout',
      '--simple-log',
      `--pidfile=${path.join(directory, 'turnserver.pid')}`,
      `--userdb=${path.join(directory, 'turndb')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('error', (error) => (output += `\n${error.message}`));
  await waitFor('turnserver to listen', async () => {
    if (child.exitCode !== null || output.includes('ENOENT'))
      throw new Error(`turnserver did not start (bash scripts/coturn.sh install): ${output}`);
    return accepts(port);
  });
  return {
    url: `turn:127.0.0.1:${port}?transport=tcp`,
    port,
    secret,
    allocate: (username, credential) =>
      new Promise((resolve) => {
        execFile(
          'turnutils_uclient',
          [
            '-t',
            '-n',
            '1',
            '-m',
            '1',
            '-y',
            '-u',
            username,
            '-w',
            credential,
            '-p',
            String(port),
            '127.0.0.1',
          ],
          { timeout: 30_000 },
          (error, stdout, stderr) => {
            const text = `${stdout}${stderr}`;
            resolve({ ok: !error && /Total lost packets 0 /.test(text), output: text });
          },
        );
      }),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
