import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchTransport } from './http.js';

describe('fetchTransport', () => {
  it('gives up on a server that took the request and never answers', async () => {
    // Accepts, reads the request, answers nothing (a process stalled mid-request).
    const server = http.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const transport = fetchTransport(`http://127.0.0.1:${port}`, { timeoutMs: 200 });
      const started = Date.now();
      await expect(transport.request('GET', '/health/live', {})).rejects.toThrow(/timeout|abort/i);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
