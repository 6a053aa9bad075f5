import { randomBytes, randomUUID } from 'node:crypto';
import { openLoop } from '../../lib/drivers.js';
import { KeepAliveHttp } from '../../lib/http.js';

// The raw HTTP ceiling's load: the same keep-alive client and driver as the
// scenarios' senders, posting a send request of the same shape and size
// (1 KiB body, 3 wrapped 32-byte keys) with a fresh clientMessageId each time.

const WRAPPED_KEY_BYTES = 24 + 32 + 16; // nonce ‖ crypto_box_easy of a 32-byte key (PROTOCOL.md)

let http: KeepAliveHttp | undefined;
let template = '';

function post(): Promise<void> {
  const json = template.replace('CLIENT_MESSAGE_ID', randomUUID());
  return (http as KeepAliveHttp).request('POST', '/v1/messages', { json }).then((answer) => {
    if (answer.status !== 201) throw new Error(`HTTP ${answer.status}: ${answer.text}`);
    JSON.parse(answer.text); // as the SDK reads its answer
  });
}

export const handlers = {
  connect({ baseUrl, maxSockets }: { baseUrl: string; maxSockets: number }) {
    http = new KeepAliveHttp(baseUrl, maxSockets);
    template = JSON.stringify({
      clientMessageId: 'CLIENT_MESSAGE_ID',
      to: { accountId: randomUUID() },
      body: randomBytes(1024).toString('base64'),
      keys: [0, 1, 2].map(() => ({
        deviceId: randomUUID(),
        wrappedKey: randomBytes(WRAPPED_KEY_BYTES).toString('base64'),
      })),
    });
    return {};
  },

  openLoop(options: { rate: number; durationMs: number; maxInFlight: number }) {
    return openLoop({ ...options, op: post });
  },
};

export function close(): Promise<void> {
  http?.close();
  return Promise.resolve();
}
