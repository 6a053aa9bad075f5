import net from 'node:net';
import type { HttpAnswer, HttpTransport } from '@supernode/client';

interface InFlight {
  resolve: (answer: HttpAnswer) => void;
  reject: (error: Error) => void;
  /** A HEAD request: its answer's Content-Length describes a body that never comes. */
  head: boolean;
}

/**
 * A keep-alive HTTP/1.1 client for load generation, written on bare TCP
 * sockets: one request at a time per connection, the request written in one
 * piece, the answer read by its Content-Length. On a shared box the load
 * generator's CPU is taken from the server it measures: node:http's client
 * used more of it while sending less (BENCHMARKS.md, 'Decisions the
 * measurements justify'; fetch, undici inside Node, costs more than
 * node:http). It is still HTTP over TCP: the server cannot tell
 * it from any other client. The load processes hand it to the SDK as its
 * `transport`. Kept over undici's Pool because it measurably wins: less
 * client CPU per request and a higher rate at every concurrency tried
 * (`npm run bench:http-client`, figures in bench/README.md).
 *
 * Chunked answers are refused with an error rather than misread: the
 * server's JSON and problem+json answers all carry a Content-Length.
 */
export class KeepAliveHttp implements HttpTransport {
  private readonly host: string;
  private readonly port: number;
  private readonly idle: Connection[] = [];
  private readonly waiting: {
    resolve: (connection: Connection) => void;
    reject: (error: Error) => void;
  }[] = [];
  private closed = false;
  private readonly all = new Set<Connection>();

  /**
   * `timeoutMs`: a request with no answer by then fails and its connection is
   * dropped (the server may still act on it, as with any client that gave up).
   */
  constructor(
    baseUrl: string,
    private readonly maxSockets: number,
    private readonly options: { timeoutMs?: number } = {},
  ) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
  }

  async request(
    method: string,
    path: string,
    options: { token?: string; json?: string } = {},
  ): Promise<HttpAnswer> {
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n`;
    if (options.token) head += `Authorization: Bearer ${options.token}\r\n`;
    if (options.json !== undefined) {
      head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(options.json)}\r\n`;
    } else if (method !== 'GET' && method !== 'HEAD') {
      head += 'Content-Length: 0\r\n';
    }
    const connection = await this.acquire();
    try {
      return await connection.send(
        `${head}\r\n${options.json ?? ''}`,
        method === 'HEAD',
        this.options.timeoutMs,
      );
    } finally {
      this.release(connection);
    }
  }

  /** Ends every connection; requests still waiting for one, and any made later, fail. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new Error('KeepAliveHttp closed'));
    for (const connection of this.all) connection.socket.destroy();
    this.all.clear();
    this.idle.length = 0;
  }

  private acquire(): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error('KeepAliveHttp closed'));
    const ready = this.idle.pop();
    if (ready) return Promise.resolve(ready);
    if (this.all.size < this.maxSockets) return Promise.resolve(this.open());
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(connection: Connection): void {
    if (!connection.reusable) {
      connection.socket.destroy();
      this.forget(connection);
      return;
    }
    const next = this.waiting.shift();
    if (next) next.resolve(connection);
    else this.idle.push(connection);
  }

  // A closed connection leaves the pool; a caller waiting for one gets a new one.
  private forget(connection: Connection): void {
    if (!this.all.delete(connection)) return;
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    this.waiting.shift()?.resolve(this.open());
  }

  private open(): Connection {
    const connection = new Connection(this.host, this.port, () => this.forget(connection));
    this.all.add(connection);
    return connection;
  }
}

const HEAD_END = Buffer.from('\r\n\r\n');

class Connection {
  readonly socket: net.Socket;
  /** False once the server said `Connection: close` or the socket failed. */
  reusable = true;
  private buffered: Buffer = Buffer.alloc(0);
  private inFlight: InFlight | undefined;

  constructor(host: string, port: number, onClosed: () => void) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => {
      this.fail(new Error('connection closed by the server'));
      onClosed();
    });
  }

  send(request: string, isHead: boolean, timeoutMs?: number): Promise<HttpAnswer> {
    if (!this.reusable) return Promise.reject(new Error('connection closed'));
    const answer = new Promise<HttpAnswer>((resolve, reject) => {
      this.inFlight = { resolve, reject, head: isHead };
      this.socket.write(request);
    });
    if (timeoutMs === undefined) return answer;
    const timer = setTimeout(
      () => this.fail(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    return answer.finally(() => clearTimeout(timer));
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const headEnd = this.buffered.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = this.buffered.toString('latin1', 0, headEnd).toLowerCase();
    if (head.includes('\r\ntransfer-encoding:')) {
      this.fail(new Error('chunked answer: this load client reads Content-Length only'));
      return;
    }
    const status = Number(head.slice(9, 12));
    const bodiless = this.inFlight?.head || status === 204 || status === 304;
    const length = bodiless ? 0 : Number(/\r\ncontent-length: *(\d+)/.exec(head)?.[1] ?? 0);
    const bodyStart = headEnd + HEAD_END.length;
    if (this.buffered.length < bodyStart + length) return;
    const text = this.buffered.toString('utf8', bodyStart, bodyStart + length);
    this.buffered = this.buffered.subarray(bodyStart + length);
    if (head.includes('\r\nconnection: close')) this.reusable = false;
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    const retryAfter = status >= 400 ? /\r\nretry-after: *([^\r]*)/.exec(head)?.[1] : undefined;
    inFlight?.resolve({ status, text, retryAfter });
  }

  private fail(error: Error): void {
    this.reusable = false;
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    inFlight?.reject(error);
    this.socket.destroy();
  }
}
