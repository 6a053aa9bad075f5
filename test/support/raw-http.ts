import net from 'node:net';

/** A bare TCP connection to the server, for requests no HTTP client would send. */
export interface RawConnection {
  socket: net.Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Whether the server (or we) closed the connection. */
  closed(): boolean;
  /** The status of the first answer, once its status line arrived. */
  status(): number | undefined;
  /** The JSON body of the first answer, once it arrived whole. */
  body(): Record<string, unknown> | undefined;
  /** Writes `chunk` every `everyMs` until the connection closes: a client that trickles. */
  trickle(chunk: string, everyMs: number): void;
  close(): void;
}

export async function openRaw(baseUrl: string, firstBytes?: string): Promise<RawConnection> {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let data = '';
  let isClosed = false;
  let dripper: NodeJS.Timeout | undefined;
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
  // A reset is one way the server refuses; the test reads it as closed.
  socket.on('error', () => undefined);
  socket.on('close', () => {
    isClosed = true;
    clearInterval(dripper);
  });
  if (firstBytes) socket.write(firstBytes);
  return {
    socket,
    received: () => data,
    closed: () => isClosed,
    status: () => {
      const match = /^HTTP\/1\.1 (\d{3}) /.exec(data);
      return match ? Number(match[1]) : undefined;
    },
    body: () => {
      const start = data.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(data);
      if (start < 0 || !length) return undefined;
      const body = data.slice(start + 4);
      return Buffer.byteLength(body) >= Number(length[1])
        ? (JSON.parse(body) as Record<string, unknown>)
        : undefined;
    },
    trickle(chunk, everyMs) {
      dripper = setInterval(() => {
        if (socket.writable) socket.write(chunk);
      }, everyMs);
    },
    close() {
      clearInterval(dripper);
      socket.destroy();
    },
  };
}
