import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { RAW_MESSAGE_INSERT } from '../../ceilings/raw-schema.js';

// The raw HTTP ceiling's server: node:http with nothing else, answering each
// POST of a send request's JSON with 201 once its rows are durably inserted
// by a bare pg pool (RAW_MESSAGE_INSERT). What the API does beyond this
// (auth, validation, coverage, idempotency, notice numbers, live frames,
// wake-ups) is what the accept scenarios measure on top of it.

interface SendRequest {
  clientMessageId: string;
  to: { accountId: string };
  body: string;
  keys: { deviceId: string; wrappedKey: string }[];
}

let server: http.Server | undefined;
let pool: pg.Pool | undefined;
const senderAccount = randomUUID();
const senderDevice = randomUUID();

async function store(request: SendRequest): Promise<void> {
  const keys = request.keys.slice(0, 3);
  if (keys.length !== 3) throw new Error('expected 3 keys');
  await (pool as pg.Pool).query({
    name: 'raw-insert',
    text: RAW_MESSAGE_INSERT,
    values: [
      senderAccount,
      senderDevice,
      request.clientMessageId,
      request.to.accountId,
      Buffer.from(request.body, 'base64'),
      ...keys.flatMap((key) => [key.deviceId, Buffer.from(key.wrappedKey, 'base64')]),
    ],
  });
}

function answer(response: http.ServerResponse, status: number, body: object): void {
  const json = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
  });
  response.end(json);
}

export const handlers = {
  async listen({ databaseUrl, connections }: { databaseUrl: string; connections: number }) {
    pool = new pg.Pool({
      connectionString: databaseUrl,
      max: connections,
      options: '-c synchronous_commit=on', // as the raw insert ceiling's clients
    });
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        let parsed: SendRequest;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SendRequest;
        } catch {
          answer(response, 400, { detail: 'not JSON' });
          return;
        }
        store(parsed).then(
          () =>
            answer(response, 201, {
              messageId: parsed.clientMessageId,
              acceptedAt: new Date().toISOString(),
            }),
          (error: Error) => answer(response, 500, { detail: error.message }),
        );
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port };
  },
};

export async function close(): Promise<void> {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  await pool?.end();
}
