import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { closedLoop, openLoop } from '../../lib/drivers.js';
import { RAW_MESSAGE_INSERT } from '../../ceilings/raw-schema.js';

// The raw insert ceiling: a bare pg client per connection writing what one
// accepted message costs at least (RAW_MESSAGE_INSERT).

interface Connection {
  client: pg.Client;
  senderAccount: string;
  senderDevice: string;
  recipientAccount: string;
  deliveries: [string, Buffer][];
}

let connections: Connection[] = [];
const free: Connection[] = [];
const body = randomBytes(1024);

function insert(connection: Connection): Promise<unknown> {
  return connection.client.query({
    name: 'raw-insert',
    text: RAW_MESSAGE_INSERT,
    values: [
      connection.senderAccount,
      connection.senderDevice,
      randomUUID(),
      connection.recipientAccount,
      body,
      ...connection.deliveries.flat(),
    ],
  });
}

// More operations in flight than connections wait for one, as callers of a
// pool do: the connections stay at PostgreSQL's best, the offered load at the
// scenario's.
const waiting: ((connection: Connection) => void)[] = [];

function acquire(): Promise<Connection> {
  const connection = free.pop();
  return connection ? Promise.resolve(connection) : new Promise((resolve) => waiting.push(resolve));
}

function release(connection: Connection): void {
  const next = waiting.shift();
  if (next) next(connection);
  else free.push(connection);
}

async function insertOnAny(): Promise<void> {
  const connection = await acquire();
  try {
    await insert(connection);
  } finally {
    release(connection);
  }
}

export const handlers = {
  async connect({ databaseUrl, connections: count }: { databaseUrl: string; connections: number }) {
    connections = await Promise.all(
      Array.from({ length: count }, async () => {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        await client.query('SET synchronous_commit = on');
        return {
          client,
          senderAccount: randomUUID(),
          senderDevice: randomUUID(),
          recipientAccount: randomUUID(),
          deliveries: [0, 1, 2].map(() => [randomUUID(), randomBytes(72)] as [string, Buffer]),
        };
      }),
    );
    free.push(...connections);
    return { connections: connections.length };
  },

  /** `concurrency` inserts in flight back to back, on the connections as they come free. */
  throughput(options: { concurrency: number; warmupMs: number; durationMs: number }) {
    return closedLoop({ ...options, op: insertOnAny });
  },

  /** A fixed rate, latency from each insert's due time. */
  fixedRate({ rate, durationMs }: { rate: number; durationMs: number }) {
    return openLoop({
      rate,
      durationMs,
      maxInFlight: connections.length,
      op: insertOnAny,
    });
  },
};

export async function close(): Promise<void> {
  await Promise.all(connections.map((connection) => connection.client.end()));
}
