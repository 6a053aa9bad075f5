import { randomUUID } from 'node:crypto';
import { loadEnv } from '../../../src/config/env.js';
import { fromBase64, signChallenge, SupernodeClient, toBase64 } from '@supernode/client';
import { linkDevice, newAccount, uniqueHandle } from '../../factories/accounts.js';
import { sealedSend } from '../raw-send.js';
import type { TestApp } from '../test-app.js';
import { settleFanout } from './state.js';
import type { RouteTemplate } from './requests.js';

// Listed in PUSH_ALLOWED_HOSTS, so a valid subscription needs no DNS look-up.
const ABUSE_PUSH_HOST = 'push.abuse.localhost';

/** Small limits keep oversized inputs cheap; every rate limit is raised so that none masks an answer. */
export function abuseOverrides(): Record<string, string> {
  const overrides: Record<string, string> = {
    MAX_BODY_BYTES: '4096',
    MAX_TTL_SECONDS: '3600',
    DEFAULT_TTL_SECONDS: '600',
    MAX_CONVERSATION_MEMBERS: '5',
    MAX_DEVICES_PER_ACCOUNT: '10',
    PUSH_ALLOWED_HOSTS: ABUSE_PUSH_HOST,
    // Configured, so that GET /v1/calls/turn answers rather than 503 (no TURN server is called).
    TURN_URLS: 'turn:turn.abuse.localhost:3478',
    TURN_SECRET: 'abuse-suite-turn-secret',
  };
  // Every RATE_LIMIT_* variable, including those added after this was written.
  for (const name of Object.keys(loadEnv({}))) {
    if (/^RATE_LIMIT_/.test(name) && name !== 'RATE_LIMIT_WINDOW_SECONDS')
      overrides[name] = '1000000';
  }
  return overrides;
}

/** The cast the abuse suite attacks with and against. */
export interface AbuseCast {
  /** The attacker's own device (its token is the one sent). */
  alice: SupernodeClient;
  aliceLaptop: SupernodeClient;
  /** An account alice shares a conversation with. */
  bob: SupernodeClient;
  /** An account that is in nothing of alice's. */
  carol: SupernodeClient;
  conversationId: string;
  /** A message alice sent to bob, still pending for bob. */
  messageId: string;
  /** A link code of alice's account, unused. */
  linkCode: string;
  /** A challenge for alice's device, unused, and its valid signature. */
  login: { deviceId: string; challenge: string; signature: string };
  handles: { alice: string; bob: string };
  /** A Web Push subscription whose endpoint the server may reach (a listed host). */
  pushSubscription: { endpoint: string; keys: { p256dh: string; auth: string } };
  /** A valid send from alice to bob (bob's phone and alice's laptop keyed): a template to break. */
  sendToBob: ReturnType<typeof sealedSend>;
}

export async function createCast(world: TestApp): Promise<AbuseCast> {
  const handles = { alice: uniqueHandle('alice'), bob: uniqueHandle('bob') };
  const alice = await SupernodeClient.createAccount(world.baseUrl, handles.alice, {
    deviceName: 'phone',
  });
  const aliceLaptop = await linkDevice(alice, 'laptop');
  const bob = await SupernodeClient.createAccount(world.baseUrl, handles.bob, {
    deviceName: 'phone',
  });
  const carol = await newAccount(world.baseUrl, 'carol');
  const conversationId = await alice.createConversation([bob.accountId], 'alice and bob');
  const { messageId } = await alice.sendText({ accountId: bob.accountId }, 'hello bob');
  const { code: linkCode } = await alice.createLinkCode();
  const { challenge } = await alice.request<{ challenge: string }>('POST', '/v1/auth/challenge', {
    deviceId: alice.deviceId,
  });
  const signature = toBase64(
    signChallenge(fromBase64(challenge), alice.identity.keys.signingSecretKey),
  );
  const devices = [
    ...(await alice.devicesOf(bob.accountId)).devices,
    ...(await alice.devicesOf(alice.accountId)).devices.filter(
      (device) => device.deviceId !== alice.deviceId,
    ),
  ];
  await settleFanout(world);
  return {
    handles,
    sendToBob: sealedSend(alice, { accountId: bob.accountId }, devices),
    alice,
    aliceLaptop,
    bob,
    carol,
    conversationId,
    messageId,
    linkCode,
    login: { deviceId: alice.deviceId, challenge, signature },
    pushSubscription: {
      endpoint: `https://${ABUSE_PUSH_HOST}:9443/push/${randomUUID()}`,
      keys: {
        // A P-256 point's shape (0x04 ‖ x ‖ y): the server checks the form, not the curve.
        p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 5)]).toString('base64url'),
        auth: Buffer.alloc(16, 6).toString('base64url'),
      },
    },
  };
}

const uuid = (unknownIsBad: boolean) => ({ kind: 'uuid', unknownIsBad }) as const;
const deviceKeys = {
  kind: 'object',
  fields: {
    name: { kind: 'text', max: 64 },
    signingKey: { kind: 'base64', bytes: 32 },
    boxKey: { kind: 'base64', bytes: 32 },
    boxKeySignature: { kind: 'base64', bytes: 64 },
  },
} as const;

/**
 * A valid request for each route, described by kind (requests.ts breaks one
 * thing of it at a time). A route missing here still gets the generic bad
 * requests (broken path parameters, broken JSON).
 */
export function routeTemplates(
  cast: AbuseCast,
  newDeviceKeys: () => Record<string, string>,
  newHandle: () => string,
  env: { MAX_BODY_BYTES: number; MAX_TTL_SECONDS: number; MAX_CONVERSATION_MEMBERS: number },
): Record<string, RouteTemplate> {
  const { alice, bob } = cast;
  return {
    'POST /v1/accounts': {
      authenticated: false,
      body: {
        kind: {
          kind: 'object',
          fields: { handle: { kind: 'handle', taken: cast.handles.bob }, device: deviceKeys },
        },
        valid: () => ({ handle: newHandle(), device: newDeviceKeys() }),
      },
    },
    'POST /v1/auth/challenge': {
      authenticated: false,
      body: {
        kind: { kind: 'object', fields: { deviceId: uuid(true) } },
        valid: () => ({ deviceId: alice.deviceId }),
      },
    },
    'POST /v1/auth/token': {
      authenticated: false,
      body: {
        kind: {
          kind: 'object',
          fields: {
            deviceId: uuid(true),
            challenge: { kind: 'base64', bytes: 32 },
            signature: { kind: 'base64', bytes: 64 },
          },
        },
        valid: () => ({ ...cast.login }),
      },
    },
    'POST /v1/devices': {
      authenticated: false,
      body: {
        kind: {
          kind: 'object',
          fields: { code: { kind: 'secret', max: 128 }, device: deviceKeys },
        },
        valid: () => ({ code: cast.linkCode, device: newDeviceKeys() }),
      },
    },
    'POST /v1/devices/link-codes': { authenticated: true },
    'GET /v1/devices': { authenticated: true },
    'DELETE /v1/devices/:deviceId': {
      authenticated: true,
      params: { deviceId: { kind: uuid(true), valid: () => cast.aliceLaptop.deviceId } },
    },
    'PUT /v1/devices/self/push': {
      authenticated: true,
      body: {
        kind: {
          kind: 'object',
          fields: {
            endpoint: { kind: 'pushEndpoint', max: 2048 },
            keys: {
              kind: 'object',
              fields: {
                p256dh: { kind: 'base64url', bytes: 65 },
                auth: { kind: 'base64url', bytes: 16 },
              },
            },
          },
        },
        valid: () => cast.pushSubscription,
      },
    },
    'GET /v1/directory/:handle': {
      authenticated: true,
      params: { handle: { kind: { kind: 'secret', max: 32 }, valid: () => cast.handles.bob } },
    },
    'GET /v1/accounts/:accountId/devices': {
      authenticated: true,
      params: { accountId: { kind: uuid(true), valid: () => bob.accountId } },
    },
    'POST /v1/conversations': {
      authenticated: true,
      body: {
        kind: {
          kind: 'object',
          fields: {
            members: {
              kind: 'array',
              of: uuid(true),
              min: 0,
              max: env.MAX_CONVERSATION_MEMBERS - 1,
              duplicatesBad: false,
              filler: () => randomUUID(),
            },
            title: { kind: 'text', max: 200 },
          },
          optional: ['title'],
        },
        valid: () => ({ members: [bob.accountId], title: 'a title' }),
      },
    },
    'GET /v1/conversations': { authenticated: true },
    'GET /v1/conversations/:id': {
      authenticated: true,
      params: { id: { kind: uuid(true), valid: () => cast.conversationId } },
    },
    'POST /v1/conversations/:id/members': {
      authenticated: true,
      params: { id: { kind: uuid(true), valid: () => cast.conversationId } },
      body: {
        kind: { kind: 'object', fields: { accountId: uuid(true) } },
        valid: () => ({ accountId: cast.carol.accountId }),
      },
    },
    'DELETE /v1/conversations/:id/members/:accountId': {
      authenticated: true,
      params: {
        id: { kind: uuid(true), valid: () => cast.conversationId },
        accountId: { kind: uuid(true), valid: () => bob.accountId },
      },
    },
    'POST /v1/messages': {
      authenticated: true,
      body: {
        kind: {
          kind: 'object',
          fields: {
            clientMessageId: uuid(false),
            to: {
              kind: 'oneOf',
              variants: [{ accountId: uuid(true) }, { conversationId: uuid(true) }],
            },
            ttlSeconds: { kind: 'integer', max: env.MAX_TTL_SECONDS },
            urgent: { kind: 'boolean' },
            ephemeral: { kind: 'boolean' },
            body: { kind: 'base64', minBytes: 40, maxBytes: env.MAX_BODY_BYTES },
            keys: {
              kind: 'array',
              of: {
                kind: 'object',
                fields: { deviceId: uuid(true), wrappedKey: { kind: 'base64', bytes: 72 } },
              },
              min: 1,
              max: 2, // bob's phone and alice's laptop
              duplicatesBad: true,
              filler: () => ({
                deviceId: randomUUID(),
                wrappedKey: Buffer.alloc(72, 1).toString('base64'),
              }),
            },
          },
          optional: ['ttlSeconds', 'urgent', 'ephemeral'],
        },
        valid: () => ({ ...sealedForBob(cast), ttlSeconds: 60, urgent: false, ephemeral: false }),
      },
    },
    'GET /v1/messages/:messageId/status': {
      authenticated: true,
      params: { messageId: { kind: uuid(true), valid: () => cast.messageId } },
    },
    'GET /v1/inbox': {
      authenticated: true,
      query: { limit: { kind: { kind: 'integer', max: 1000 }, valid: () => '10' } },
    },
    'POST /v1/inbox/ack': {
      authenticated: true,
      body: {
        kind: {
          kind: 'object',
          fields: {
            messageIds: {
              kind: 'array',
              of: uuid(false),
              min: 1,
              max: 1000,
              duplicatesBad: false,
              filler: () => randomUUID(),
            },
          },
        },
        valid: () => ({ messageIds: [randomUUID()] }),
      },
    },
  };
}

function sealedForBob(cast: AbuseCast) {
  return { ...cast.sendToBob, clientMessageId: randomUUID() };
}
