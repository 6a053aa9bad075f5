import { errorFromProblem } from './errors.js';

/** An HTTP answer as the SDK reads it. */
export interface HttpAnswer {
  status: number;
  text: string;
  /** The Retry-After header, where the answer has one (429, 503). */
  retryAfter?: string | null;
}

/**
 * How the SDK reaches the server's HTTP API: one request to `path` on the
 * server's origin, with an optional bearer token and JSON body. The default
 * is `fetch`; pass another to pool connections your way, go through a proxy,
 * or count requests.
 */
export interface HttpTransport {
  request(
    method: string,
    path: string,
    options: { token?: string; json?: string },
  ): Promise<HttpAnswer>;
}

/**
 * The default transport: `fetch` against `baseUrl`. A request that has no
 * whole answer within `timeoutMs` (default 30 s) fails (a TimeoutError), so
 * that a server that accepted the connection and then stalled or died never
 * holds a call forever; a send is safe to try again (same clientMessageId).
 */
export function fetchTransport(
  baseUrl: string,
  {
    timeoutMs = 30_000,
    headers: extraHeaders,
  }: {
    timeoutMs?: number;
    /** Headers to add to each request, read as it goes (an X-Request-Id, say). */
    headers?: () => Record<string, string>;
  } = {},
): HttpTransport {
  return {
    async request(method, path, { token, json }) {
      const headers: Record<string, string> = { ...extraHeaders?.() };
      if (json !== undefined) headers['content-type'] = 'application/json';
      if (token) headers.authorization = `Bearer ${token}`;
      const response = await fetch(new URL(path, baseUrl), {
        method,
        headers,
        body: json,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return {
        status: response.status,
        text: await response.text(),
        retryAfter: response.headers.get('retry-after'),
      };
    },
  };
}

/** One JSON request; a non-2xx answer is thrown as the SupernodeError of its problem code. */
export async function requestJson<T>(
  transport: HttpTransport,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<T> {
  const json = options.body === undefined ? undefined : JSON.stringify(options.body);
  const answer = await transport.request(method, path, { token: options.token, json });
  if (answer.status < 200 || answer.status > 299) {
    let problem: Record<string, unknown> = {};
    try {
      problem = JSON.parse(answer.text) as Record<string, unknown>;
    } catch {
      problem = { detail: answer.text.slice(0, 200) };
    }
    throw errorFromProblem(answer.status, problem, answer.retryAfter);
  }
  return (answer.text ? JSON.parse(answer.text) : undefined) as T;
}
