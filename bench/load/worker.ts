import type { ChildMessage, Handlers, ParentMessage } from '../lib/rpc.js';

// The entry of every load process: loads bench/load/tasks/<task>.ts and
// answers the orchestrator's calls to its handlers (see lib/rpc.ts).
const task = process.argv[2];
if (!task || !/^[a-z0-9-]+$/.test(task)) throw new Error(`bad task name: ${task}`);

const send = (message: ChildMessage) => process.send?.(message);
const module = (await import(`./tasks/${task}.js`)) as {
  handlers: Handlers;
  /** Optional: release sockets and connections before the process exits. */
  close?: () => Promise<void>;
};

async function exit(): Promise<never> {
  const timeout = new Promise((resolve) => setTimeout(resolve, 2000).unref());
  await Promise.race([module.close?.().catch(() => undefined), timeout]);
  process.exit(0);
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'exit') {
    void exit();
    return;
  }
  if (message.type !== 'call') return;
  const handler = module.handlers[message.method];
  if (!handler) {
    send({ type: 'error', id: message.id, message: `${task} has no handler ${message.method}` });
    return;
  }
  Promise.resolve()
    .then(() => handler(message.args as never))
    .then(
      (value) => send({ type: 'result', id: message.id, value }),
      (error: unknown) =>
        send({
          type: 'error',
          id: message.id,
          message: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    );
});
// The orchestrator gone (crash, Ctrl-C): nothing of ours stays behind.
process.on('disconnect', () => void exit());
send({ type: 'ready' });
