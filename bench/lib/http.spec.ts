import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RateLimitedError } from '@supernode/client';
import { requestJson } from '@supernode/client';
import { KeepAliveHttp } from './http.js';

// Against a real node:http server on a free port: what the load client sends,
// what it reads back and how it keeps its connections.

interface Received {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const BIG = 'ünïcødé '.repeat(100_000); // 1.2 MB: arrives in many pieces

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    received.push({ method: request.method, url: request.url, headers: request.headers, body });
    switch (request.url) {
      case '/chunked':
        response.write('{"part":');
        response.end('1}');
        return;
      case '/close':
        response.setHeader('Connection', 'close');
        response.end('bye');
        return;
      case '/head':
        // What a GET would get: a length, and (for HEAD) no body.
        response.setHeader('Content-Length', '5');
        response.end(request.method === 'HEAD' ? undefined : 'hello');
        return;
      case '/slow':
        setTimeout(() => response.end('late'), 2000).unref();
        return;
      case '/big':
        response.end(BIG);
        return;
      case '/busy':
        response.statusCode = 429;
        response.setHeader('Retry-After', '3');
        response.setHeader('Content-Type', 'application/problem+json');
        response.end(JSON.stringify({ code: 'rate_limited', detail: 'slow down' }));
        return;
      default:
        // (No writeHead: it would send the head before the length is known, chunked.)
        response.statusCode = 201;
        response.setHeader('Content-Type', 'application/json');
        response.end(JSON.stringify({ echo: body }));
    }
  });
});

let received: Received[] = [];
let connections = 0;
server.on('connection', () => connections++);

let baseUrl = '';
let client: KeepAliveHttp | undefined;

/** A client for this test, closed after it. */
function keepAlive(maxSockets: number, options?: { timeoutMs?: number }): KeepAliveHttp {
  client = new KeepAliveHttp(baseUrl, maxSockets, options);
  return client;
}

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  received = [];
  connections = 0;
});

afterEach(() => {
  client?.close();
  client = undefined;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('KeepAliveHttp', () => {
  it('sends a POST with its JSON body, token and headers, and returns the status and text', async () => {
    const json = JSON.stringify({ text: 'héllo ✓' });
    const answer = await keepAlive(1).request('POST', '/v1/messages?x=1', { token: 't0k', json });

    expect(answer).toEqual({ status: 201, text: JSON.stringify({ echo: json }) });
    expect(received).toHaveLength(1);
    const [{ method, url, headers, body }] = received;
    expect({ method, url, body }).toEqual({ method: 'POST', url: '/v1/messages?x=1', body: json });
    expect(headers).toMatchObject({
      host: new URL(baseUrl).host,
      authorization: 'Bearer t0k',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(json)), // bytes, not characters
    });
    expect(Buffer.byteLength(json)).toBeGreaterThan(json.length);
  });

  it('sends a GET without a body or length, and a bodiless POST with length 0', async () => {
    const pool = keepAlive(1);
    await pool.request('GET', '/a');
    await pool.request('POST', '/b');
    expect(
      received.map(({ method, headers, body }) => [method, headers['content-length'], body]),
    ).toEqual([
      ['GET', undefined, ''],
      ['POST', '0', ''],
    ]);
    expect(received[0].headers.authorization).toBeUndefined();
  });

  it('sends requests made one after another over one keep-alive connection', async () => {
    const pool = keepAlive(4);
    for (let i = 0; i < 5; i++) {
      await expect(pool.request('POST', `/n/${i}`, { json: `${i}` })).resolves.toEqual({
        status: 201,
        text: `{"echo":"${i}"}`,
      });
    }
    expect(connections).toBe(1);
  });

  it('opens at most maxSockets connections and queues the requests beyond them', async () => {
    const pool = keepAlive(2);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => pool.request('POST', '/q', { json: `${i}` })),
    );
    expect(answers.map((answer) => answer.text)).toEqual(
      Array.from({ length: 8 }, (_, i) => `{"echo":"${i}"}`),
    );
    expect(connections).toBe(2);
  });

  it('reads a large answer that arrives in many pieces, multi-byte characters included', async () => {
    const pool = keepAlive(1);
    await expect(pool.request('GET', '/big')).resolves.toEqual({ status: 200, text: BIG });
    // The connection is still in step: the next answer is read whole.
    await expect(pool.request('GET', '/after')).resolves.toEqual({
      status: 201,
      text: '{"echo":""}',
    });
    expect(connections).toBe(1);
  });

  it('refuses a chunked answer loudly, then serves the next request on a fresh connection', async () => {
    const pool = keepAlive(1);
    await expect(pool.request('GET', '/chunked')).rejects.toThrow(
      'chunked answer: this load client reads Content-Length only',
    );
    await expect(pool.request('GET', '/next')).resolves.toMatchObject({ status: 201 });
    expect(connections).toBe(2);
  });

  it('drops a connection the server closes with Connection: close and opens a new one', async () => {
    const pool = keepAlive(1);
    await expect(pool.request('GET', '/close')).resolves.toEqual({ status: 200, text: 'bye' });
    await expect(pool.request('GET', '/next')).resolves.toMatchObject({ status: 201 });
    expect(connections).toBe(2);
  });

  it('reads a HEAD answer, whose Content-Length names a body that is not sent, and goes on', async () => {
    const pool = keepAlive(1);
    await expect(pool.request('HEAD', '/head')).resolves.toMatchObject({ status: 200, text: '' });
    await expect(pool.request('GET', '/next')).resolves.toMatchObject({ status: 201 });
    expect(connections).toBe(1);
  });

  it('fails the requests still waiting for a connection when closed, and any made after', async () => {
    const pool = keepAlive(1);
    const first = expect(pool.request('GET', '/slow')).rejects.toThrow();
    const waiting = expect(pool.request('GET', '/a')).rejects.toThrow('KeepAliveHttp closed');
    pool.close();
    await Promise.all([first, waiting]);
    await expect(pool.request('GET', '/b')).rejects.toThrow('KeepAliveHttp closed');
  });

  it('gives up on a request with no answer in time, drops its connection and goes on', async () => {
    // Long enough for a fresh connection's answer on a loaded CI host; /slow answers far later.
    const pool = keepAlive(1, { timeoutMs: 500 });
    await expect(pool.request('GET', '/slow')).rejects.toThrow('no answer within 500 ms');
    await expect(pool.request('GET', '/next')).resolves.toMatchObject({ status: 201 });
    expect(connections).toBe(2);
  });

  it('serves as the SDK transport: a problem answer becomes its error, with Retry-After', async () => {
    const pool = keepAlive(1);
    const body = { hello: 'sdk' };
    await expect(requestJson(pool, 'POST', '/json', { token: 't', body })).resolves.toEqual({
      echo: JSON.stringify(body),
    });
    const refused = await requestJson(pool, 'GET', '/busy').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused).toMatchObject({ status: 429, problem: { retryAfter: '3' } });
  });
});
