import { randomBytes, randomUUID } from 'node:crypto';
import { loadEnv } from './env.js';
import { maxKeysPerSend, routeBodyLimits, sendBodyLimit } from './request-limits.js';

// The largest send a configuration allows: the largest body, one key for
// every device of a full group of full accounts.
function largestSend(env: ReturnType<typeof loadEnv>) {
  return {
    clientMessageId: randomUUID(),
    to: { conversationId: randomUUID() },
    ttlSeconds: env.MAX_TTL_SECONDS,
    body: randomBytes(env.MAX_BODY_BYTES).toString('base64'),
    keys: Array.from({ length: maxKeysPerSend(env) }, () => ({
      deviceId: randomUUID(),
      wrappedKey: randomBytes(72).toString('base64'),
    })),
  };
}

describe('request limits', () => {
  it.each([
    ['the defaults', {}],
    [
      'small maxima',
      { MAX_CONVERSATION_MEMBERS: '5', MAX_DEVICES_PER_ACCOUNT: '3', MAX_BODY_BYTES: '2048' },
    ],
    [
      'a large body to a small group',
      { MAX_CONVERSATION_MEMBERS: '2', MAX_BODY_BYTES: String(4 << 20) },
    ],
  ])('the largest send under %s fits the send limit, compact or indented', (_name, variables) => {
    const env = loadEnv(variables);
    const send = largestSend(env);
    const limit = sendBodyLimit(env);
    expect(Buffer.byteLength(JSON.stringify(send))).toBeLessThanOrEqual(limit);
    expect(Buffer.byteLength(JSON.stringify(send, null, 2))).toBeLessThanOrEqual(limit);
    expect(routeBodyLimits(env)['POST /v1/messages']).toBe(limit);
  });

  it('a conversation of the most members fits its limit', () => {
    const env = loadEnv({ MAX_CONVERSATION_MEMBERS: '100000' });
    const members = Array.from({ length: env.MAX_CONVERSATION_MEMBERS }, () => randomUUID());
    const body = JSON.stringify({ members, title: 't'.repeat(200) }, null, 2);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(
      routeBodyLimits(env)['POST /v1/conversations'],
    );
  });
});
