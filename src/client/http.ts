import { errorFromProblem } from './errors.js';

export interface RequestOptions {
  token?: string;
  body?: unknown;
  signal?: AbortSignal;
}

/** One JSON request; a non-2xx answer is thrown as the SupernodeError of its problem code. */
export async function requestJson<T>(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  const text = await response.text();
  if (!response.ok) {
    let problem: Record<string, unknown> = {};
    try {
      problem = JSON.parse(text) as Record<string, unknown>;
    } catch {
      problem = { detail: text.slice(0, 200) };
    }
    throw errorFromProblem(response.status, problem, response.headers.get('retry-after'));
  }
  return (text ? JSON.parse(text) : undefined) as T;
}
