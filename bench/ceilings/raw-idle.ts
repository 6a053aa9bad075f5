import type { BenchItem } from '../lib/context.js';
import { sleep } from '../lib/clock.js';
import { progress } from '../lib/progress.js';
import { rssKiB } from '../lib/server.js';

// Sockets one process can hold: the open-files hard limit less what a server
// process keeps open besides (pools, pipes, its own files).
export const FD_RESERVE = 300;

export function idleSocketCount(requested: number, openFilesHard: number): number {
  return Math.min(requested, openFilesHard - FD_RESERVE);
}

/** Source addresses for the clients: every 127.x address is loopback, and each has its own ports. */
export const loopbackAddress = (index: number) => `127.0.0.${index + 2}`;

interface Connected {
  open: number;
  failures: number;
  firstFailure?: string;
}

/** Raw idle-socket ceiling: RSS per idle connection of a bare ws server holding N of them. */
export const rawIdle: BenchItem = {
  name: 'raw-idle',
  kind: 'ceiling',
  description: 'bare ws server (perMessageDeflate off) holding N idle sockets: RSS per socket',
  needsServer: false,
  maxSeconds: () => 90,
  async run(context, result) {
    const s = context.settings;
    const count = idleSocketCount(s.idleSockets, context.openFilesHard);
    const server = await context.spawn('idle-server', 'raw-idle server');
    const { port, pid } = await server.call<{ port: number; pid: number }>('listen');
    await sleep(s.settleMs);
    const before = await rssKiB(pid);
    progress(`raw-idle: ${count} sockets to a bare ws server (RSS before ${before} KiB)`);
    const clients = await Promise.all(
      Array.from({ length: s.loadProcesses }, (_, index) =>
        context.spawn('idle-clients', `raw-idle clients#${index + 1}`),
      ),
    );
    const share = Math.ceil(count / clients.length);
    const connected = await Promise.all(
      clients.map((load, index) =>
        load.call<Connected>('connect', {
          url: `ws://127.0.0.1:${port}`,
          count: Math.min(share, count - share * index),
          localAddress: loopbackAddress(index),
          concurrency: 200,
        }),
      ),
    );
    await sleep(s.settleMs);
    const held = (await server.call<{ sockets: number }>('count')).sockets;
    const after = await rssKiB(pid);
    const perSocket = (after - before) / held;
    result.figures.push(
      { key: 'raw-idle.sockets', label: 'idle sockets held', value: held, unit: 'sockets' },
      {
        key: 'raw-idle.kib_per_socket',
        label: 'RSS per idle socket',
        value: perSocket,
        unit: 'KiB',
      },
    );
    result.details = {
      requested: s.idleSockets,
      attempted: count,
      held,
      rssBeforeKiB: before,
      rssAfterKiB: after,
      failures: connected.reduce((total, part) => total + part.failures, 0),
      firstFailure: connected.find((part) => part.firstFailure)?.firstFailure,
      openFilesHard: context.openFilesHard,
    };
    if (count < s.idleSockets) {
      result.figures[0].note = `capped by the open-files hard limit (${context.openFilesHard})`;
    }
  },
};
