import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { BenchItem } from '../lib/context.js';
import { monoMs, waitUntil } from '../lib/clock.js';
import { CpuMeter } from '../lib/cpu.js';
import { progress } from '../lib/progress.js';
import type { DrainRecord } from '../load/tasks/catchup-server.js';
import { BODY_BYTES } from '../sdk-contract.js';
import { messageIndexesDdl, messageTablesOnlyDdl } from './raw-schema.js';

export interface CatchUpTables {
  messages: string;
  bodies: string;
  deliveries: string;
}

const TABLES: CatchUpTables = {
  messages: 'bench_catchup_messages',
  bodies: 'bench_catchup_bodies',
  deliveries: 'bench_catchup_deliveries',
};

/** The stream's page of a drain (PAGE in src/sync/stream-connection.ts). */
const STREAM_PAGE_SIZE = 1000;

// As the server stores a message: the message row, its body in a table of
// its own, and one delivery per device (the recipient's two and the
// sender's other one), in one statement.
const SEED = `
WITH m AS (
  INSERT INTO ${TABLES.messages}
    (sender_account_id, sender_device_id, client_message_id, recipient_account_id,
     device_count, pending_count, expires_at)
  SELECT $1, $2, gen_random_uuid(), $3, 3, 3, now() + interval '7 days'
    FROM generate_series(1, $5::int)
  RETURNING id, seq
), bodies AS (
  INSERT INTO ${TABLES.bodies} (message_id, body) SELECT id, $4 FROM m
)
INSERT INTO ${TABLES.deliveries} (device_id, message_seq, message_id, wrapped_key)
SELECT d.device_id, m.seq, m.id, $6
  FROM m CROSS JOIN unnest($7::uuid[]) AS d(device_id)`;

interface Recording {
  frames: number;
  firstAt: number;
  lastAt: number;
}

/**
 * Raw catch-up ceiling: the catch-up scenario's backlog (N queued 1 KiB
 * messages of one device) seeded with plain SQL into scratch tables of the
 * stored shape, then drained by a bare ws + pg server process to one ws
 * client in another process as soon as it connects: keyset pages of the
 * stream's size, each row an InboxMessage frame, written under the socket's
 * high-water mark. Measured: msgs/s from the first frame to the last, the
 * time from the connect call to the first frame, and where the CPU went.
 */
export const rawCatchup: BenchItem = {
  name: 'raw-catchup',
  kind: 'ceiling',
  description:
    'bare pg pages of a queued backlog → bare ws server → one ws client, InboxMessage frames',
  needsServer: false,
  maxSeconds: (s) => 60 + s.catchUpMessages / 1000,
  async run(context, result) {
    const s = context.settings;
    const count = s.catchUpMessages;
    const deviceId = randomUUID();
    const admin = new pg.Client({ connectionString: context.databaseUrl });
    await admin.connect();
    const drop = () =>
      admin.query(
        `DROP TABLE IF EXISTS ${TABLES.deliveries}, ${TABLES.bodies}, ${TABLES.messages}`,
      );
    try {
      await drop();
      await admin.query(messageTablesOnlyDdl(TABLES.messages, TABLES.deliveries));
      await admin.query(
        `CREATE TABLE ${TABLES.bodies} (message_id uuid PRIMARY KEY, body bytea NOT NULL)`,
      );
      progress(`raw-catchup: queueing ${count} messages for one device (plain SQL)`);
      await admin.query(SEED, [
        randomUUID(),
        randomUUID(),
        randomUUID(),
        randomBytes(BODY_BYTES),
        count,
        randomBytes(72),
        [deviceId, randomUUID(), randomUUID()],
      ]);
      await admin.query(messageIndexesDdl(TABLES.messages, TABLES.deliveries));
      await admin.query(`ANALYZE ${TABLES.messages}, ${TABLES.bodies}, ${TABLES.deliveries}`);

      const server = await context.spawn('catchup-server', 'raw-catchup server');
      const { port } = await server.call<{ port: number }>('listen', {
        databaseUrl: context.databaseUrl,
        tables: TABLES,
        deviceId,
        pageSize: STREAM_PAGE_SIZE,
      });
      const client = await context.spawn('ws-clients', 'raw-catchup client');
      await client.call('startRecording');
      progress(`raw-catchup: one client drains ${count} queued messages`);
      const meter = await CpuMeter.start();
      const connectedAt = monoMs();
      await client.call('connect', { url: `ws://127.0.0.1:${port}`, count: 1 });
      const drained = await server.call<DrainRecord>('drained', {}, 60_000);
      await waitUntil(
        'every queued frame',
        async () => (await client.call<{ frames: number }>('frames')).frames >= drained.sent,
        30_000,
      );
      const cores = await meter.stop({ server: [server.pid], load: [client.pid] });
      const recording = await client.call<Recording>('stopRecording');
      const msgsPerSecond = recording.frames / ((recording.lastAt - recording.firstAt) / 1000);
      const firstFrameMs = recording.firstAt - connectedAt;

      result.figures.push(
        {
          key: 'raw-catchup.msgs_per_s',
          label: `${count} queued messages paged from PostgreSQL to one client (first frame → last)`,
          value: msgsPerSecond,
          unit: 'msgs/s',
          note: drained.sent < count ? `only ${drained.sent} of ${count} read` : undefined,
        },
        {
          key: 'raw-catchup.first_frame_ms',
          label: 'connect → first frame',
          value: firstFrameMs,
          unit: 'ms',
        },
      );
      result.details = {
        queued: count,
        pageSize: STREAM_PAGE_SIZE,
        pages: drained.pages,
        sent: drained.sent,
        received: recording.frames,
        drainSeconds: (recording.lastAt - recording.firstAt) / 1000,
        firstFrameMs,
        cores,
      };
      progress(
        `raw-catchup: ${msgsPerSecond.toFixed(0)} msgs/s, first frame after ${firstFrameMs.toFixed(1)} ms; cores ${JSON.stringify(cores)}`,
      );
    } finally {
      await drop();
      await admin.end();
    }
  },
};
