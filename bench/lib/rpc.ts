import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { progress } from './progress.js';

/**
 * Load generators and bare ceiling servers run in their own processes (a
 * forked bench/load/worker.ts under tsx). The orchestrator drives them with
 * calls over IPC: `call(method, args)` runs the handler of that name in the
 * child's task module and resolves with what it returns.
 */

/** A task module's handlers. Each takes one argument object (structured-cloned over IPC). */
export type Handlers = Record<string, (args: never) => unknown>;

export type ParentMessage =
  { type: 'call'; id: number; method: string; args: unknown } | { type: 'exit' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; message: string }
  | { type: 'log'; text: string };

const WORKER = path.join(import.meta.dirname, '..', 'load', 'worker.ts');

/** Every process the harness started, so teardown can end exactly those. */
export const startedProcesses = new Set<ChildProcess>();

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Node flags from a space-separated environment variable: BENCH_SERVER_NODE_ARGS
 * for the server processes, BENCH_LOAD_NODE_ARGS for every load process (e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile them under the benchmark's load).
 */
export function nodeArgsFromEnv(name: 'BENCH_SERVER_NODE_ARGS' | 'BENCH_LOAD_NODE_ARGS'): string[] {
  return (process.env[name] ?? '').split(/\s+/).filter(Boolean);
}

export class LoadProcess {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exitError: Error | undefined;

  private constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    child.on('message', (message: ChildMessage) => this.onMessage(message));
    child.once('exit', (code, signal) => {
      startedProcesses.delete(child);
      this.exitError = new Error(`${label} exited (code ${code}, signal ${signal})`);
      for (const [id, call] of this.pending) {
        clearTimeout(call.timer);
        call.reject(this.exitError);
        this.pending.delete(id);
      }
    });
  }

  /** Forks a load process running bench/load/tasks/<task>.ts and waits until it listens. */
  static async start(task: string, label = task, nodeOptions: string[] = []): Promise<LoadProcess> {
    const child = fork(WORKER, [task], {
      execArgv: ['--import', 'tsx', ...nodeArgsFromEnv('BENCH_LOAD_NODE_ARGS'), ...nodeOptions],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    startedProcesses.add(child);
    const load = new LoadProcess(label, child);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: ChildMessage) => {
        if (message.type !== 'ready') return;
        child.off('message', onMessage);
        resolve();
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`${label} exited at start (code ${code})`)));
    });
    return load;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  call<T>(method: string, args: object = {}, timeoutMs = 300_000): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}.${method} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve, reject, timer });
      this.child.send({ type: 'call', id, method, args } satisfies ParentMessage);
    });
  }

  /** Asks the process to exit; kills it if it has not after a grace period. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.send({ type: 'exit' } satisfies ParentMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private onMessage(message: ChildMessage): void {
    if (message.type === 'log') {
      progress(`  ${this.label}: ${message.text}`);
      return;
    }
    if (message.type !== 'result' && message.type !== 'error') return;
    const call = this.pending.get(message.id);
    if (!call) return;
    this.pending.delete(message.id);
    clearTimeout(call.timer);
    if (message.type === 'result') call.resolve(message.value);
    else call.reject(new Error(`${this.label}: ${message.message}`));
  }
}
