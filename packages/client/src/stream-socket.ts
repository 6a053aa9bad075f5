/**
 * The part of the WebSocket API the stream uses: a browser's WebSocket and
 * the `ws` package's (Node 20 has no WebSocket of its own) both have it.
 */
export interface StreamSocket {
  readonly readyState: number;
  send(text: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drops the connection without a close frame. */
  terminate?(): void;
  addEventListener(
    type: 'open' | 'error',
    listener: () => void,
    options?: { once?: boolean },
  ): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(
    type: 'close',
    listener: (event: { code: number }) => void,
    options?: { once?: boolean },
  ): void;
}

// WebSocket's readyState values (the same in every implementation).
export const SOCKET_OPEN = 1 as const;
export const SOCKET_CLOSED = 3 as const;

type BrowserWebSocket = new (url: string) => StreamSocket;
type NodeWebSocket = new (
  url: string,
  options: { headers: Record<string, string>; perMessageDeflate: boolean },
) => StreamSocket;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
let nodeWebSocket: Promise<NodeWebSocket> | undefined;

/**
 * Opens a socket to the stream URL. In Node it is `ws`'s, with the token in
 * the Authorization header (and `socketOptions` passed on); in a browser,
 * which cannot set headers on a WebSocket, the token goes in the `token`
 * query parameter, which the server accepts in its place.
 */
export async function openStreamSocket(
  url: string,
  token: string,
  socketOptions: Record<string, unknown> = {},
): Promise<StreamSocket> {
  if (isNode) {
    // Imported only here, so a browser bundle never loads it (package.json's
    // "browser" field also maps it to nothing).
    nodeWebSocket ??= import('ws').then((module) => module.default as unknown as NodeWebSocket);
    const WebSocket = await nodeWebSocket;
    const headers = { ...(socketOptions.headers as Record<string, string> | undefined) };
    headers.authorization = `Bearer ${token}`;
    return new WebSocket(url, { ...socketOptions, headers, perMessageDeflate: false });
  }
  const BrowserSocket = (globalThis as { WebSocket?: BrowserWebSocket }).WebSocket;
  if (!BrowserSocket) throw new Error('this runtime has no WebSocket');
  const withToken = new URL(url);
  withToken.searchParams.set('token', token);
  return new BrowserSocket(withToken.toString());
}
