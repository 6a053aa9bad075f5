import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';

/**
 * Where the machine's CPU went during a measurement, by process group: on a
 * 2-core box the server, PostgreSQL, Redis and the load generators share the
 * cores, so a figure is only read right beside this split.
 */
export type CpuGroups = Record<string, number[]>;

interface Snapshot {
  at: number;
  /** CPU seconds (user + system) per pid, with its command name. */
  processes: Map<number, { comm: string; seconds: number }>;
}

const TICKS_PER_SECOND = 100;

async function snapshot(): Promise<Snapshot> {
  const processes = new Map<number, { comm: string; seconds: number }>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      processes.set(pid, {
        comm,
        seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
      });
    } catch {
      // gone meanwhile
    }
  }
  return { at: performance.now(), processes };
}

export class CpuMeter {
  private constructor(private readonly start: Snapshot) {}

  static async start(): Promise<CpuMeter> {
    return new CpuMeter(await snapshot());
  }

  /**
   * Cores used per group since start (1.0 = one core busy all the time).
   * `groups` names pids; postgres and redis-server are found by name; the
   * rest of the machine is "other".
   */
  async stop(groups: CpuGroups): Promise<Record<string, number>> {
    const end = await snapshot();
    const seconds = (end.at - this.start.at) / 1000;
    const byPid = new Map<number, string>();
    for (const [group, pids] of Object.entries(groups))
      for (const pid of pids) byPid.set(pid, group);
    const used: Record<string, number> = {};
    for (const [pid, now] of end.processes) {
      const before = this.start.processes.get(pid)?.seconds ?? 0;
      const delta = now.seconds - before;
      if (delta <= 0) continue;
      const group =
        byPid.get(pid) ??
        (now.comm === 'postgres'
          ? 'postgres'
          : now.comm.startsWith('redis-server')
            ? 'redis'
            : 'other');
      used[group] = (used[group] ?? 0) + delta;
    }
    const cores: Record<string, number> = { machine: os.cpus().length };
    for (const [group, total] of Object.entries(used)) {
      cores[group] = Math.round((total / seconds) * 100) / 100;
    }
    return cores;
  }
}
