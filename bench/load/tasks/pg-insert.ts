import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { closedLoop, openLoop } from '../../lib/drivers.js';
import { RAW_TABLES } from '../../ceilings/raw-schema.js';

// The raw insert ceiling: a bare pg client per connection writing what one
// accepted message costs at least — one message row with a 1 KiB body and its
// three delivery rows, atomically, durably (synchronous_commit on) — in one
// round trip (a data-modifying CTE is one statement, so one transaction).
const INSERT = `
WITH m AS (
  INSERT INTO ${RAW_TABLES.messages}
    (sender_account_id, sender_device_id, client_message_id, recipient_account_id,
     body, device_count, pending_count, expires_at)
  VALUES ($1, $2, $3, $4, $5, 3, 3, now() + interval '7 days')
  RETURNING id, seq)
INSERT INTO ${RAW_TABLES.deliveries} (device_id, message_seq, message_id, wrapped_key)
SELECT d.device_id, m.seq, m.id, d.wrapped_key
  FROM m CROSS JOIN (VALUES ($6::uuid, $7::bytea), ($8::uuid, $9::bytea), ($10::uuid, $11::bytea))
    AS d(device_id, wrapped_key)`;

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
    text: INSERT,
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

  /** As many as the connections take, each back to back. */
  throughput({ warmupMs, durationMs }: { warmupMs: number; durationMs: number }) {
    return closedLoop({
      concurrency: connections.length,
      warmupMs,
      durationMs,
      op: async (worker) => {
        await insert(connections[worker]);
      },
    });
  },

  /** A fixed rate, latency from each insert's due time. */
  fixedRate({ rate, durationMs }: { rate: number; durationMs: number }) {
    return openLoop({
      rate,
      durationMs,
      maxInFlight: connections.length,
      op: async () => {
        const connection = free.pop() as Connection;
        try {
          await insert(connection);
        } finally {
          free.push(connection);
        }
      },
    });
  },
};

export async function close(): Promise<void> {
  await Promise.all(connections.map((connection) => connection.client.end()));
}
