import path from 'node:path';
import { SupernodeClient } from '@supernode/client';
import type { FaultSend } from '../load/tasks/fault-senders.js';
import { sleep } from '../lib/clock.js';
import type { LoadProcess } from '../lib/rpc.js';
import { progress } from '../lib/progress.js';
import { createBenchDatabase, dropDatabase, withDatabase } from '../lib/provision.js';
import { BENCH_SERVER_SETTINGS, freePort, type ServerProcess, startServer } from '../lib/server.js';
import type { PrivatePostgres, PrivateRedis } from './services.js';

// What a fault run and a soak share: two API processes and a worker of the
// built server over a fresh database, and the accounts that the load uses.

/** The processes of one run: senders use `sendApi`, streaming recipients `recipientApi`. */
export interface Cluster {
  sendApi: Restartable;
  recipientApi: Restartable;
  worker: Restartable;
  redis: PrivateRedis;
  postgres: PrivatePostgres;
  databaseUrl: string;
  /** Calls the streaming phones' load process (bench/load/tasks/fault-phones.ts), once they are connected. */
  phones: (method: string, args?: object, timeoutMs?: number) => Promise<unknown>;
}

/** A server process that a fault may kill and a supervisor start again. */
export class Restartable {
  process!: ServerProcess;

  constructor(
    readonly role: 'api' | 'worker',
    private readonly env: Record<string, string>,
    readonly port: number,
    private readonly logFile: string,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the process; a restart that is not ready in time is tried again, twice. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.process = await startServer(this.role, this.env as never, this.port, this.logFile);
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        progress(`${this.role} on ${this.port}: ${(error as Error).message}; again`);
      }
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.process.child.kill(signal);
  }

  async killAndRestart(signal: 'SIGKILL' | 'SIGTERM', downMs: number): Promise<void> {
    const exited = new Promise((resolve) => this.process.child.once('exit', resolve));
    this.signal(signal);
    await exited;
    await sleep(downMs);
    await this.start();
  }
}

/**
 * A fresh database and an emptied Redis, two API processes and a worker;
 * `envOf` adds settings per process (e.g. a metrics port).
 */
export async function startCluster(
  services: { redis: PrivateRedis; postgres: PrivatePostgres },
  runId: string,
  logDir: string,
  envOf: (role: 'send-api' | 'recipient-api' | 'worker') => Record<string, string> = () => ({}),
): Promise<Cluster> {
  const databaseUrl = withDatabase(services.postgres.url, `faults_${runId}`);
  await createBenchDatabase(databaseUrl);
  await services.redis.command('FLUSHALL');
  const env = {
    ...BENCH_SERVER_SETTINGS,
    DATABASE_URL: databaseUrl,
    REDIS_URL: services.redis.url,
    REDIS_PREFIX: 'faults',
    // Presence of a killed process's devices expires in 15 s, the reconciler looks every 2 s.
    WS_HEARTBEAT_SECONDS: '5',
    RECONCILE_INTERVAL_SECONDS: '2',
  };
  const log = (role: string) => path.join(logDir, `faults-${runId}-${role}.log`);
  const cluster: Cluster = {
    sendApi: new Restartable(
      'api',
      { ...env, ...envOf('send-api') },
      await freePort(),
      log('send-api'),
    ),
    recipientApi: new Restartable(
      'api',
      { ...env, ...envOf('recipient-api') },
      await freePort(),
      log('recipient-api'),
    ),
    worker: new Restartable('worker', { ...env, ...envOf('worker') }, 0, log('worker')),
    redis: services.redis,
    postgres: services.postgres,
    databaseUrl,
    phones: () => Promise.reject(new Error('the phones are not connected yet')),
  };
  await Promise.all([
    cluster.sendApi.start(),
    cluster.recipientApi.start(),
    cluster.worker.start(),
  ]);
  return cluster;
}

/** Stops the processes and drops the database. */
export async function stopCluster(cluster: Cluster): Promise<void> {
  await Promise.all(
    [cluster.sendApi, cluster.recipientApi, cluster.worker].map((server) => server.process.stop()),
  );
  await dropDatabase(cluster.databaseUrl).catch(() => undefined);
}

const SENDERS = 8;
const RECIPIENTS = 8;
const GROUP_SIZE = 4;

/** A recipient account: its phone streams on the recipients' process, its laptop sleeps. */
export interface Party {
  phone: SupernodeClient;
  laptop: SupernodeClient;
}

export interface Load {
  senders: SupernodeClient[];
  parties: Party[];
  /**
   * The sends, in a cycle the senders repeat: one in five to the sender's
   * group of 4 recipient accounts, the others to one recipient account.
   */
  cycle: FaultSend[];
}

/** 8 sender accounts, 8 recipient accounts with a phone and a laptop each, and a group per sender. */
export async function setUpLoad(cluster: Cluster): Promise<Load> {
  const recipientUrl = cluster.recipientApi.baseUrl;
  const stamp = Date.now().toString(36);
  const senders = await Promise.all(
    Array.from({ length: SENDERS }, (_, index) =>
      SupernodeClient.createAccount(cluster.sendApi.baseUrl, `s${stamp}${index}`),
    ),
  );
  const parties: Party[] = await Promise.all(
    Array.from({ length: RECIPIENTS }, async (_, index) => {
      const phone = await SupernodeClient.createAccount(recipientUrl, `r${stamp}${index}`);
      const { code } = await phone.createLinkCode();
      return { phone, laptop: await SupernodeClient.linkDevice(recipientUrl, code) };
    }),
  );
  const groups = await Promise.all(
    senders.map((sender, index) =>
      sender.createConversation(
        Array.from(
          { length: GROUP_SIZE },
          (_, member) => parties[(index + member) % RECIPIENTS].phone.accountId,
        ),
      ),
    ),
  );
  const devicesOf = (party: Party) => [party.phone.deviceId, party.laptop.deviceId];
  // 40 = the least common multiple of the senders (8), the group share (5) and the recipients (8).
  const cycle: FaultSend[] = Array.from({ length: 40 }, (_, index) => {
    const sender = index % SENDERS;
    if (index % 5 === 0)
      return {
        sender,
        to: { conversationId: groups[sender] },
        deviceIds: Array.from({ length: GROUP_SIZE }, (_, member) =>
          devicesOf(parties[(sender + member) % RECIPIENTS]),
        ).flat(),
      };
    const party = parties[(index * 7) % RECIPIENTS];
    return { sender, to: { accountId: party.phone.accountId }, deviceIds: devicesOf(party) };
  });
  return { senders, parties, cycle };
}

/**
 * Points the load processes at the cluster: the senders at the send API
 * (retrying through the other), the phones' streams at the recipients' API.
 */
export async function connectLoad(
  cluster: Cluster,
  load: Load,
  processes: { sending: LoadProcess; phones: LoadProcess },
  phoneOptions: { keepIds?: boolean } = {},
): Promise<void> {
  const recipientUrl = cluster.recipientApi.baseUrl;
  await processes.sending.call('setup', {
    sendUrl: cluster.sendApi.baseUrl,
    otherUrl: recipientUrl,
    identities: load.senders.map((sender) => sender.identity),
  });
  await processes.phones.call('connect', {
    url: recipientUrl,
    identities: load.parties.map((party) => party.phone.identity),
    ...phoneOptions,
  });
}
