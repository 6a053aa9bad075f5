import type { Availability } from '../sdk-contract.js';
import type { CpuGroups } from './cpu.js';
import type { ItemResult } from './results.js';
import { LoadProcess } from './rpc.js';
import type { ServerProcess } from './server.js';

/** Sizes and durations of one run; --quick shrinks them for a smoke run. */
export interface Settings {
  quick: boolean;
  /**
   * In-flight operations of the throughput runs (HTTP requests, or pg
   * transactions for the ceiling): enough that the server, not the load's
   * round trips, sets the rate. With too few the API idled and ingest was
   * in-flight count ÷ latency; with the lean load client, 256 kept the API
   * busier than 128 (BENCHMARKS.md, 'Decisions the measurements justify').
   */
  concurrency: number;
  /**
   * Connections of the bare pg clients (raw-insert, raw-http): PostgreSQL
   * stored less with many more of them (bench/history/2026-11-25_to_2026-12-01.md);
   * operations beyond these wait for one, as a pool's callers do.
   */
  pgConnections: number;
  /**
   * ROLE=api processes behind the one port (lib/api-cluster.ts). One by
   * default: a second one left ingest as it was and made live latency worse
   * (BENCHMARKS.md, 'Decisions the measurements justify'). idle-sockets
   * always measures one.
   */
  apiProcesses: number;
  /** Load processes that share a scenario's client work. */
  loadProcesses: number;
  /**
   * Back-to-back sends before the first server scenario, not measured: a
   * fresh server spends its first seconds under load compiling (V8's
   * optimizing compiler), and a server is measured as it runs for days.
   */
  serverWarmupMs: number;
  /** Each scenario's own unmeasured start. */
  warmupMs: number;
  throughputMs: number;
  /** The fixed rate of the latency scenarios, messages per second. */
  latencyRate: number;
  latencyMs: number;
  /** Deliveries per message: the recipient's two devices and the sender's other one. */
  deliveriesPerMessage: number;
  /** Sender/recipient account pairs (two devices each) that share the load. */
  pairs: number;
  broadcastRounds: number;
  /**
   * Rounds of fanout-1000 and raw-frames sent before the counted ones. A
   * load process runs its receive path (the SDK's frame, decryption and ack)
   * only 500 times a round, and V8 compiles it to optimized code only after a
   * few such rounds: until then a round measured the load generator's
   * interpreter more than the server (docs in bench/README.md).
   */
  broadcastWarmUpRounds: number;
  catchUpMessages: number;
  /** Measured rounds of ack-cost (one ack of 1,000 foreign ids and one of 1,000 own ids each). */
  ackRounds: number;
  fanoutDevices: number;
  purgeRows: number;
  purgeWaitMs: number;
  idleSockets: number;
  /**
   * Streams per device in idle-sockets: provisioning 20,000 devices through
   * the API alone takes about two minutes here, so a full run opens two
   * streams per device (the server allows several per device).
   */
  idleSocketsPerDevice: number;
  /** Wait before reading a process's RSS (sockets settle, timers run). */
  settleMs: number;
  /** The whole run's time limit. */
  budgetSeconds: number;
}

export function settingsFor(quick: boolean, overrides: Partial<Settings> = {}): Settings {
  return {
    quick,
    concurrency: 256,
    pgConnections: 32,
    apiProcesses: 1,
    loadProcesses: 2,
    serverWarmupMs: quick ? 0 : 10_000,
    warmupMs: quick ? 500 : 2000,
    throughputMs: quick ? 2000 : 10_000,
    latencyRate: 1000,
    latencyMs: quick ? 2000 : 10_000,
    deliveriesPerMessage: 3,
    pairs: 16,
    broadcastRounds: quick ? 3 : 10,
    broadcastWarmUpRounds: quick ? 1 : 5,
    catchUpMessages: quick ? 2000 : 20_000,
    ackRounds: quick ? 5 : 20,
    fanoutDevices: quick ? 100 : 1000,
    purgeRows: quick ? 20_000 : 1_000_000,
    purgeWaitMs: quick ? 20_000 : 90_000,
    idleSockets: quick ? 500 : 20_000,
    idleSocketsPerDevice: quick ? 1 : 2,
    settleMs: quick ? 1000 : 3000,
    // A full run took up to 708 s on the slowest host logged: the default
    // must let every item finish there (the budget ends a stuck run, not a slow one).
    budgetSeconds: quick ? 120 : 900,
    ...overrides,
  };
}

export interface Context {
  settings: Settings;
  runId: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  resultsDir: string;
  /** Open-files hard limit: caps how many sockets one process can hold. */
  openFilesHard: number;
  server?: { baseUrl: string; api: ServerProcess; worker: ServerProcess };
  availability?: Availability;
  /** Values shared between items (e.g. provisioned accounts). */
  shared: Map<string, unknown>;
  /** Starts a load process that is stopped when the current item ends. */
  spawn(task: string, label?: string, nodeOptions?: string[]): Promise<LoadProcess>;
  /** The pids of the server processes, the harness and the current item's load processes. */
  cpuGroups(): CpuGroups;
}

/** Thrown by an item that cannot run here; it is reported as skipped with this reason. */
export class Skip extends Error {}

export interface BenchItem {
  name: string;
  kind: 'ceiling' | 'scenario' | 'warm-up';
  description: string;
  /** The targets in words, shown when the scenario could not run. */
  targets?: string;
  /** Ceilings this scenario is compared with (run with it unless --no-ceilings). */
  ceilings?: string[];
  needsServer: boolean;
  /** False for a scenario that measures a server process of its own: no server warm-up for it. */
  measuresSharedServer?: boolean;
  /** Needs POST /v1/messages and/or the stream. */
  needs?: ('messages' | 'stream')[];
  /** Time cap of this item. */
  maxSeconds(settings: Settings): number;
  run(context: Context, result: ItemResult): Promise<void>;
}

/** Tracks the load processes an item starts, so they end with it. */
export class ItemProcesses {
  readonly started: LoadProcess[] = [];
  async spawn(task: string, label?: string, nodeOptions?: string[]): Promise<LoadProcess> {
    const load = await LoadProcess.start(task, label, nodeOptions);
    this.started.push(load);
    return load;
  }
  async stopAll(): Promise<void> {
    await Promise.all(this.started.map((load) => load.stop()));
    this.started.length = 0;
  }
}
