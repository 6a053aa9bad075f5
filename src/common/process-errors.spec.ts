import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { keepRunningOnStrayErrors } from './process-errors.js';

describe('keepRunningOnStrayErrors', () => {
  it('logs the class and message of a stray rejection or exception, and nothing of the request', () => {
    const events = new EventEmitter();
    const lines: string[] = [];
    keepRunningOnStrayErrors(
      { error: (fields, message) => lines.push(`${message}: ${fields.error}`) },
      events,
    );

    const withData = Object.assign(new TypeError('Invalid URL'), {
      input: 'http://x:99999/v1/stream?token=secret-token',
    });
    events.emit('unhandledRejection', withData, Promise.resolve());
    events.emit('uncaughtException', new RangeError('Maximum call stack size exceeded'));
    events.emit('unhandledRejection', 'a bare string reason: secret-token', Promise.resolve());

    expect(lines).toEqual([
      'unhandled rejection, process kept running: TypeError: Invalid URL',
      'uncaught exception, process kept running: RangeError: Maximum call stack size exceeded',
      'unhandled rejection, process kept running: string',
    ]);
    expect(lines.join('\n')).not.toContain('secret-token');
  });

  it('removes both handlers when asked', () => {
    const events = new EventEmitter();
    const remove = keepRunningOnStrayErrors({ error: () => undefined }, events);
    expect(events.listenerCount('unhandledRejection')).toBe(1);
    expect(events.listenerCount('uncaughtException')).toBe(1);
    remove();
    expect(events.listenerCount('unhandledRejection')).toBe(0);
    expect(events.listenerCount('uncaughtException')).toBe(0);
  });

  it('keeps a real Node process running past a stray rejection and a stray exception', () => {
    // Node ends a process on either unless a handler is installed: run one for real.
    const script = `
      const { keepRunningOnStrayErrors } = await import('./src/common/process-errors.ts');
      keepRunningOnStrayErrors({ error: (fields, message) => console.log(message + ': ' + fields.error) });
      Promise.reject(new TypeError('rejected'));
      setTimeout(() => { throw new RangeError('thrown'); }, 0);
      setTimeout(() => console.log('still running'), 20);
    `;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 20_000 },
    );
    expect({ status: child.status, lines: child.stdout.trim().split('\n') }).toEqual({
      status: 0,
      lines: [
        'unhandled rejection, process kept running: TypeError: rejected',
        'uncaught exception, process kept running: RangeError: thrown',
        'still running',
      ],
    });
  });
});
