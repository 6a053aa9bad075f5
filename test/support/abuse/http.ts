import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/** One request exactly as an attacker would write it: the path is sent as given, undecoded. */
export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface RawAnswer {
  status: number;
  contentType: string;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Sends `request` with node:http (no URL normalisation, no body checks) and reads the whole answer. */
export function send(baseUrl: string, request: RawRequest): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        headers: {
          ...(request.body !== undefined
            ? { 'content-length': Buffer.byteLength(request.body) }
            : {}),
          ...request.headers,
        },
        // A fresh connection per request: a request that confuses the parser cannot spoil the next one.
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: String(response.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
            headers: response.headers,
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/**
 * Writes `raw` bytes on a new TCP connection and collects everything the
 * server sends until it closes the connection (or `settleMs` of quiet after
 * some data, for servers that keep it open).
 */
export function sendRawTcp(baseUrl: string, raw: Buffer | string, idleMs = 2000): Promise<Buffer> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(url.port), url.hostname);
    let idle: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(idle);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    // A server that neither answers nor closes is caught by the caller's assertion on the answer.
    const restartIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(finish, idleMs);
    };
    socket.on('connect', () => {
      socket.write(raw);
      restartIdle();
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      restartIdle();
    });
    socket.on('error', finish);
    socket.on('close', finish);
  });
}

/** What every answer to bad input must be; returns a description of what is wrong, or undefined. */
export function answerFault(answer: RawAnswer): string | undefined {
  if (answer.status >= 500) return `answered ${answer.status}`;
  if (answer.status < 400 || answer.status >= 500) return undefined;
  if (!answer.contentType.startsWith('application/problem+json')) {
    return `4xx with content-type "${answer.contentType}"`;
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.text) as Record<string, unknown>;
  } catch {
    return '4xx problem+json that is not JSON';
  }
  for (const member of ['type', 'title', 'code'] as const) {
    if (typeof body[member] !== 'string' || body[member] === '') return `problem without ${member}`;
  }
  if (body.status !== answer.status)
    return `problem status ${String(body.status)} ≠ ${answer.status}`;
  return undefined;
}

/**
 * The answer to a request that is bad by construction: a 4xx problem. A 2xx
 * means the server took bad input (or the generator made a valid request,
 * which is a bug of the generator: either way it must be looked at).
 */
export function badInputFault(answer: RawAnswer): string | undefined {
  if (answer.status < 400)
    return `bad input answered ${answer.status}: ${answer.text.slice(0, 200)}`;
  return answerFault(answer);
}

/** A short printable description of a request for failure messages (long values cut). */
export function describeRequest(request: RawRequest): string {
  const cut = (text: string) =>
    text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text;
  const body =
    request.body === undefined ? '' : ` body=${JSON.stringify(cut(request.body.toString('utf8')))}`;
  const contentType = request.headers?.['content-type'];
  return `${request.method} ${cut(request.path)}${contentType ? ` [${contentType}]` : ''}${body}`;
}
