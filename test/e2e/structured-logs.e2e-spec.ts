import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fetchTransport, SupernodeClient } from '@supernode/client';
import { newAccount, uniqueHandle } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

type LogLine = Record<string, unknown> & { msg?: string; requestId?: string };

/** Every line a process wrote, each parsed as JSON (a line that is not JSON fails the test). */
function logLines(server: ServerProcess): LogLine[] {
  return server
    .output()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`a log line that is not JSON: ${line}`);
      }
    });
}

// What an operator reads: JSON lines with fields, one request id from the
// HTTP request through the fan-out job on another process to the frames, and
// no secret or message in any of it.
describe('structured logs', () => {
  let world: TestEnv;
  let sending: ServerProcess;
  let receiving: ServerProcess;
  let inbox: LiveInbox | undefined;

  beforeAll(async () => {
    world = await createTestEnv({ LOG_LEVEL: 'debug' });
    // The recipient's stream on another process than the send: its frame
    // comes from the fan-out job (the receiving process runs the worker).
    [sending, receiving] = await Promise.all([
      startServerProcess(world.env, 'api', await freePort()),
      startServerProcess(world.env, 'all', await freePort()),
    ]);
  }, 60_000);

  afterAll(async () => {
    await inbox?.stream.close();
    await Promise.all([sending?.stop(), receiving?.stop()]);
    await world?.destroy();
  });

  it('carries the request id from the send through the fan-out job to the frame, as JSON fields', async () => {
    let nextRequestId: string | undefined;
    const alice = await SupernodeClient.createAccount(sending.baseUrl, uniqueHandle('alice'), {
      transport: fetchTransport(sending.baseUrl, {
        headers: (): Record<string, string> =>
          nextRequestId ? { 'x-request-id': nextRequestId } : {},
      }),
    });
    const bob = await newAccount(receiving.baseUrl, 'bob');
    inbox = await LiveInbox.connect(bob);

    const requestId = `e2e-${randomUUID()}`;
    nextRequestId = requestId;
    const text = `the text of ${randomUUID()}`;
    const { messageId } = await alice.sendText({ accountId: bob.accountId }, text);
    nextRequestId = undefined;
    await inbox.waitForCount(1);

    const of = (server: ServerProcess) =>
      logLines(server).filter((line) => line.requestId === requestId);
    // The HTTP request, on the process that took it: method, path and status
    // only (the SDK's first try may get a 409 naming devices, then a 201).
    const accepted = await waitFor('the request line of the 201', () =>
      of(sending).find((line) => line.msg === 'request completed' && line.statusCode === 201),
    );
    // Method, path, status and time: no headers, query or body.
    expect(accepted).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(Object.keys(accepted).sort()).toEqual(
      ['context', 'hostname', 'level', 'method', 'msg', 'path', 'pid', 'requestId']
        .concat(['responseTime', 'statusCode', 'time'])
        .sort(),
    );
    // The fan-out job and the frame, on the other process.
    await waitFor('the fan-out and frame lines', () =>
      of(receiving).some((line) => line.msg === 'message frames sent'),
    );
    expect(of(receiving)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'fan-out: routing a message', messageId }),
        expect.objectContaining({ msg: 'message frames sent', messageId, streams: 1 }),
      ]),
    );

    // Nothing secret or private in any line of either process.
    const everything = sending.output() + receiving.output();
    expect(everything).not.toContain(alice.currentToken);
    expect(everything).not.toContain(bob.currentToken);
    expect(everything).not.toContain(text);
  });

  it('answers with the request id, taking the client’s own only when it is plain', async () => {
    const given = await fetch(`${sending.baseUrl}/health/live`, {
      headers: { 'x-request-id': 'trace-abc.123' },
    });
    expect(given.headers.get('x-request-id')).toBe('trace-abc.123');
    const odd = await fetch(`${sending.baseUrl}/health/live`, {
      headers: { 'x-request-id': 'has spaces and {braces}' },
    });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes readable lines, not JSON, to a terminal', async () => {
    // script(1) gives the server a terminal of its own.
    const env = Object.fromEntries(
      Object.entries({
        ...world.env,
        ROLE: 'api',
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
      })
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => [
          key,
          Buffer.isBuffer(value) ? value.toString('base64') : String(value),
        ]),
    );
    const main = path.resolve('dist/src/main.js');
    const child = spawn('script', ['-qfec', `node ${main}`, '/dev/null'], {
      env: { ...process.env, ...env, LOG_LEVEL: 'log' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor('the server to start', () => output.includes('listening on'), 20_000);
      const line = output.split('\n').find((candidate) => candidate.includes('listening on'))!;
      expect(line.trim().startsWith('{')).toBe(false);
      expect(line).toMatch(/INFO/);
      expect(line).toContain('url');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
