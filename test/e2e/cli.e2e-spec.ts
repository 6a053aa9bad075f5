import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { uniqueHandle } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

const CLI = path.resolve('packages/cli/bin/supernode.js');
const run = promisify(execFile);

interface CliAnswer {
  code: number;
  stdout: string;
  stderr: string;
}

// The CLI (packages/cli, `npx supernode`) used as a person would: each
// command a process of its own, `chat` in a terminal (tmux).
describe('the supernode CLI', () => {
  let app: TestApp;
  let dir: string;
  const alice = uniqueHandle('alice');
  const bob = uniqueHandle('bob');
  const file = (name: string) => path.join(dir, name, 'device.json');

  async function cli(device: string, ...args: string[]): Promise<CliAnswer> {
    try {
      const { stdout, stderr } = await run('node', [CLI, '-f', file(device), ...args], {
        env: { ...process.env, SUPERNODE_SERVER: app.baseUrl },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  beforeAll(async () => {
    app = await startTestApp();
    dir = await mkdtemp(path.join(os.tmpdir(), 'supernode-cli-'));
  });

  afterAll(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers, links a second device, sends and reads, keeping keys in an owner-only file', async () => {
    expect(await cli('alice', 'register', alice)).toMatchObject({ code: 0 });
    expect(await cli('bob', 'register', bob)).toMatchObject({ code: 0 });
    expect((await stat(file('alice'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file('alice')))).mode & 0o777).toBe(0o700);

    const shown = await cli('alice', 'link', 'show');
    expect(shown.code).toBe(0);
    const linked = await cli('alice-laptop', 'link', 'use', shown.stdout.trim());
    expect(linked).toMatchObject({ code: 0 });
    expect(linked.stdout).toContain(`device of ${alice}`);
    const devices = (await cli('alice', 'devices')).stdout.trim().split('\n');
    expect(devices).toHaveLength(2);
    expect(devices.filter((line) => line.includes('(this one)'))).toHaveLength(1);

    expect(await cli('alice', 'send', bob, 'hello', 'bob')).toMatchObject({ code: 0 });
    const inbox = await cli('bob', 'inbox');
    expect(inbox.stdout).toContain(`${alice}: hello bob`);
    // Acknowledged: read once.
    expect(await cli('bob', 'inbox')).toMatchObject({ stdout: '', stderr: '(nothing waiting)\n' });
    // Alice's laptop sees what her other device sent.
    expect((await cli('alice-laptop', 'inbox')).stdout).toContain(
      'you (another device): hello bob',
    );
  });

  it('says what went wrong in a line and exits non-zero', async () => {
    const unknown = await cli('alice', 'send', uniqueHandle('nobody'), 'hi');
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/^supernode: account_not_found: /);

    const again = await cli('alice', 'register', uniqueHandle('second'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already holds a device');

    const none = await cli('nobody', 'devices');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('supernode register');

    await chmod(file('alice'), 0o644);
    const exposed = await cli('alice', 'devices');
    expect(exposed.code).toBe(1);
    expect(exposed.stderr).toContain('can be read by others');
    await chmod(file('alice'), 0o600);
    expect(await cli('alice', 'devices')).toMatchObject({ code: 0 });
  });

  it('chats live in a terminal: shows what arrives, sends each line typed, leaves on Ctrl-D', async () => {
    const socket = `supernode-cli-${process.pid}`;
    const tmux = (...args: string[]) =>
      execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    const screen = () => tmux('capture-pane', '-p', '-t', 'chat');
    tmux(
      'new-session',
      '-d',
      '-s',
      'chat',
      '-x',
      '120',
      '-y',
      '30',
      `node ${CLI} -f ${file('bob')} chat ${alice}`,
    );
    try {
      await waitFor('the chat to start', () => screen().includes(`chatting with ${alice}`));

      await cli('alice', 'send', bob, 'are you there?');
      await waitFor('the message on screen', () => screen().includes(`${alice}: are you there?`));

      tmux('send-keys', '-t', 'chat', 'yes, typing in a terminal', 'Enter');
      await waitFor('the typed line to reach alice', async () =>
        (await cli('alice', 'inbox')).stdout.includes(`${bob}: yes, typing in a terminal`),
      );

      tmux('send-keys', '-t', 'chat', 'C-d');
      await waitFor('the chat to end', () => {
        try {
          tmux('has-session', '-t', 'chat');
          return false;
        } catch {
          return true;
        }
      });
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // Already gone with its last session.
      }
    }
  });
});
