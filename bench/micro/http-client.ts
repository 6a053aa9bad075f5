// npm run bench:http-client — the load generator's HTTP client against
// undici's Pool (issue: home-made code only where it measurably wins).
//
// A bare node:http server in a process of its own answers every request with
// a small JSON body; this process sends the same requests through each client
// at the same concurrency and measures its own CPU per request (what the
// load generator takes from the server it measures on a small host) and the
// rate. Rounds alternate the clients; medians are reported.
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { HttpTransport } from '@supernode/client';
import { KeepAliveHttp } from '../lib/http.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '5' },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

const SERVER = `
  const http = require('node:http');
  const answer = JSON.stringify({ messageId: '0b7c8c1e-9a3f-4d56-b1e2-3f4a5b6c7d8e', acceptedAt: new Date().toISOString(), expiresAt: new Date().toISOString() });
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer));
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

/** undici's Pool behind the SDK's transport interface. */
function undiciPool(
  baseUrl: string,
  connections: number,
): HttpTransport & { close(): Promise<void> } {
  const pool = new Pool(baseUrl, { connections, pipelining: 1 });
  return {
    async request(method, path, { token, json }) {
      const headers: Record<string, string> = {};
      if (json !== undefined) headers['content-type'] = 'application/json';
      if (token) headers.authorization = `Bearer ${token}`;
      const response = await pool.request({ method: method, path, headers, body: json });
      const text = await response.body.text();
      const retryAfter = response.headers['retry-after'];
      return {
        status: response.statusCode,
        text,
        retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
      };
    },
    close: () => pool.close(),
  };
}

interface Round {
  client: string;
  cpuMicrosPerRequest: number;
  requestsPerSecond: number;
}

async function round(client: string, transport: HttpTransport): Promise<Round> {
  const body = JSON.stringify({
    clientMessageId: crypto.randomUUID(),
    ciphertext: 'x'.repeat(300),
  });
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) {
        const answer = await transport.request('POST', '/v1/messages', {
          token: 'snt_x',
          json: body,
        });
        if (answer.status !== 201) throw new Error(`${client}: status ${answer.status}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    client,
    cpuMicrosPerRequest: (cpu.user + cpu.system) / REQUESTS,
    requestsPerSecond: REQUESTS / seconds,
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const server = fork('-e', [SERVER], {
  execArgv: [],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const port = await new Promise<number>((resolve) =>
  server.once('message', (p) => resolve(p as number)),
);
const baseUrl = `http://127.0.0.1:${port}`;
const keepAlive = new KeepAliveHttp(baseUrl, CONCURRENCY);
const pool = undiciPool(baseUrl, CONCURRENCY);
try {
  // A warm-up round each (JIT, connections), not counted.
  await round('KeepAliveHttp', keepAlive);
  await round('undici Pool', pool);
  const rounds: Round[] = [];
  for (let index = 0; index < ROUNDS; index++) {
    rounds.push(await round('KeepAliveHttp', keepAlive));
    rounds.push(await round('undici Pool', pool));
  }
  console.log(
    `${REQUESTS} POSTs per round, ${CONCURRENCY} in flight, ${ROUNDS} rounds each (medians):`,
  );
  console.log('| client | client CPU µs/request | requests/s |');
  console.log('| --- | ---: | ---: |');
  for (const client of ['KeepAliveHttp', 'undici Pool']) {
    const mine = rounds.filter((result) => result.client === client);
    console.log(
      `| ${client} | ${median(mine.map((r) => r.cpuMicrosPerRequest)).toFixed(1)} | ${Math.round(median(mine.map((r) => r.requestsPerSecond)))} |`,
    );
  }
} finally {
  keepAlive.close();
  await pool.close();
  server.kill();
}
