import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';
import { monoMs } from '../../lib/clock.js';
import type { CatchUpTables } from '../../ceilings/raw-catchup.js';
import type { PendingMessage } from '../../../src/messages/messages.types.js';

// The raw catch-up ceiling's server: a bare `ws` server (perMessageDeflate
// off, as the real gateway) and one bare pg connection. The first socket that
// connects is sent every queued row of one device, read in keyset pages of
// the stream's page size, each row as an InboxMessage frame.
const HIGH_WATER_BYTES = 1024 * 1024;

let server: http.Server | undefined;
let client: pg.Client | undefined;
const sockets: WebSocket[] = [];
let drain: Promise<DrainRecord> | undefined;

export interface DrainRecord {
  sent: number;
  pages: number;
}

// The server's own row type (a type only: nothing of the server runs here);
// pg returns a bigint as a string.
type PendingRow = Omit<PendingMessage, 'seq' | 'expiresAtKey'> & { seq: string };

// The server's pending read without what the bare ceiling leaves out
// (partitions, sealing at rest, the byte cap, batching across devices): a
// device's deliveries after a cursor, each joined to its message and body,
// the ciphertext leaving PostgreSQL in base64 as the server's does.
function pendingPageSql(tables: CatchUpTables): string {
  return `
SELECT d.message_seq AS seq, m.id AS "messageId", m.client_message_id AS "clientMessageId",
       m.sender_account_id AS "senderAccountId", m.sender_device_id AS "senderDeviceId",
       m.conversation_id AS "conversationId",
       replace(encode(b.body, 'base64'), E'\\n', '') AS body,
       replace(encode(d.wrapped_key, 'base64'), E'\\n', '') AS "wrappedKey",
       m.accepted_at AS "acceptedAt", m.expires_at AS "expiresAt"
  FROM ${tables.deliveries} d
  JOIN ${tables.messages} m ON m.id = d.message_id
  JOIN ${tables.bodies} b ON b.message_id = d.message_id
 WHERE d.device_id = $1 AND d.message_seq > $2
 ORDER BY d.message_seq
 LIMIT $3`;
}

function frameOf(row: PendingRow): string {
  return JSON.stringify({
    type: 'message',
    message: {
      messageId: row.messageId,
      clientMessageId: row.clientMessageId,
      senderAccountId: row.senderAccountId,
      senderDeviceId: row.senderDeviceId,
      conversationId: row.conversationId,
      body: row.body,
      wrappedKey: row.wrappedKey,
      acceptedAt: row.acceptedAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      // The send time, for the raw clients' latency record (they time every frame).
      t: monoMs(),
    },
  });
}

const underMark = async (socket: WebSocket) => {
  while (socket.bufferedAmount > HIGH_WATER_BYTES && socket.readyState === socket.OPEN) {
    await new Promise((resolve) => setImmediate(resolve));
  }
};

async function drainTo(
  socket: WebSocket,
  read: (afterSeq: number) => Promise<PendingRow[]>,
  pageSize: number,
): Promise<DrainRecord> {
  let sent = 0;
  let pages = 0;
  let page = await read(0);
  while (page.length > 0) {
    pages++;
    // The next page is read while this one is written: the best a bare server can do.
    const next =
      page.length === pageSize ? read(Number(page[page.length - 1].seq)) : Promise.resolve([]);
    for (const row of page) {
      await underMark(socket);
      socket.send(frameOf(row));
      sent++;
    }
    page = await next;
  }
  return { sent, pages };
}

export const handlers = {
  async listen({
    databaseUrl,
    tables,
    deviceId,
    pageSize,
  }: {
    databaseUrl: string;
    tables: CatchUpTables;
    deviceId: string;
    pageSize: number;
  }) {
    const connection = new pg.Client({ connectionString: databaseUrl });
    await connection.connect();
    client = connection;
    const text = pendingPageSql(tables);
    const read = async (afterSeq: number) =>
      (
        await connection.query<PendingRow>({
          name: 'raw-catchup-page',
          text,
          values: [deviceId, afterSeq, pageSize],
        })
      ).rows;
    server = http.createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 1024 * 1024 });
    wss.on('connection', (socket) => {
      sockets.push(socket);
      socket.on('error', () => socket.terminate());
      drain ??= drainTo(socket, read, pageSize);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port };
  },

  /** What the drain sent, once it has sent it all. */
  async drained(): Promise<DrainRecord> {
    if (!drain) throw new Error('no client has connected');
    return drain;
  },
};

export async function close(): Promise<void> {
  for (const socket of sockets) socket.terminate();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  await client?.end();
}
