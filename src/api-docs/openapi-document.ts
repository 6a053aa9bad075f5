import { z } from 'zod';
import { AddMemberDto, CreateConversationDto } from '../conversations/dto/conversations.dto.js';
import {
  ChallengeRequestDto,
  CreateAccountDto,
  LinkDeviceDto,
  TokenRequestDto,
} from '../identity/dto/identity.dto.js';
import { LogPageDto, PlaceHoldDto } from '../admin/dto/admin.dto.js';
import { AckDto, SendMessageDto } from '../messages/dto/messages.dto.js';
import { PushSubscriptionDto } from '../push/dto/push.dto.js';

// The HTTP reference, served at /openapi.json (and /docs) and committed as
// docs/openapi.json, is built from the same zod schemas that validate
// requests, so the two cannot drift; `npm run openapi` rewrites the file and
// a test checks it is current and names every route.

type Json = Record<string, unknown>;
const requestSchema = (schema: z.ZodType): Json =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' });

const uuid = { type: 'string', format: 'uuid' };
const time = { type: 'string', format: 'date-time' };
const base64 = { type: 'string', format: 'byte' };
const object = (properties: Json, required = Object.keys(properties)): Json => ({
  type: 'object',
  properties,
  required,
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const schemas: Record<string, Json> = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem; `code` is stable. Some codes add members (see each).',
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      code: { type: 'string' },
      errors: {
        type: 'array',
        description: 'validation_failed: one entry per field',
        items: object({ field: { type: 'string' }, message: { type: 'string' } }),
      },
      missingDevices: {
        type: 'array',
        description: 'devices_missing / devices_stale',
        items: ref('MissingDevice'),
      },
      staleDevices: { type: 'array', description: 'devices_stale', items: uuid },
      unknownAccounts: {
        type: 'array',
        description: 'account_not_found on conversations',
        items: uuid,
      },
      down: {
        type: 'array',
        description: 'not_ready: the parts that are down',
        items: { type: 'string' },
      },
    },
    required: ['type', 'title', 'status', 'code'],
  },
  DirectoryDevice: object(
    {
      deviceId: uuid,
      signingKey: base64,
      boxKey: base64,
      boxKeySignature: base64,
      online: { type: 'boolean', nullable: true },
    },
    ['deviceId', 'signingKey', 'boxKey', 'boxKeySignature'],
  ),
  MissingDevice: object({
    accountId: uuid,
    deviceId: uuid,
    signingKey: base64,
    boxKey: base64,
    boxKeySignature: base64,
  }),
  DirectoryEntry: object({
    accountId: uuid,
    handle: { type: 'string' },
    devices: { type: 'array', items: ref('DirectoryDevice') },
  }),
  InboxMessage: object({
    messageId: uuid,
    clientMessageId: uuid,
    senderAccountId: uuid,
    senderDeviceId: uuid,
    conversationId: { ...uuid, nullable: true },
    body: base64,
    wrappedKey: base64,
    acceptedAt: time,
    expiresAt: time,
  }),
  Accepted: object(
    {
      messageId: uuid,
      acceptedAt: time,
      expiresAt: time,
      liveDevices: {
        type: 'integer',
        description: 'ephemeral sends only: how many devices had a stream open and got it',
      },
      undelivered: {
        type: 'array',
        description: 'devices it was not stored for: their queue is full',
        items: object({ deviceId: uuid, reason: { type: 'string', enum: ['queue_full'] } }),
      },
    },
    ['messageId', 'acceptedAt', 'expiresAt'],
  ),
  CreatedDevice: object({ accountId: uuid, deviceId: uuid }),
};

const problems = (...statuses: [number, string][]) =>
  Object.fromEntries(
    statuses.map(([status, codes]) => [
      String(status),
      { description: codes, content: { 'application/problem+json': { schema: ref('Problem') } } },
    ]),
  );
const ok = (status: number, schema?: Json, description = 'OK') => ({
  [String(status)]: schema
    ? { description, content: { 'application/json': { schema } } }
    : { description },
});
const body = (schema: z.ZodType) => ({
  required: true,
  content: { 'application/json': { schema: requestSchema(schema) } },
});
const authed = { security: [{ bearer: [] }] };
const common = problems(
  [400, 'validation_failed, malformed_json'],
  [503, 'service_unavailable (Retry-After)'],
);
const needsAuth = problems([401, 'token_invalid']);
const path_ = (name: string) => ({ name, in: 'path', required: true, schema: uuid });
const admin = { security: [{ adminCredential: [] }] };
const needsAdmin = problems([401, 'admin_credential_invalid']);
const logPage = Object.entries(
  (
    z.toJSONSchema(LogPageDto.schema, { io: 'input', target: 'openapi-3.0' }) as {
      properties: Record<string, Json>;
    }
  ).properties,
).map(([name, schema]) => ({ name, in: 'query', required: false, schema }));
const logEntries = object({
  entries: {
    type: 'array',
    items: object(
      {
        seq: { type: 'integer' },
        at: time,
        actor: { type: 'string' },
        action: { type: 'string' },
        subject: { type: 'string', nullable: true },
        details: { type: 'object' },
        prevHash: { type: 'string', description: 'hex' },
        hash: { type: 'string', description: 'hex: SHA-256 of prevHash and the entry' },
      },
      ['seq', 'at', 'actor', 'action', 'details', 'prevHash', 'hash'],
    ),
  },
});

const paths: Record<string, Json> = {
  '/v1/accounts': {
    post: {
      summary: 'Create an account with its first device',
      requestBody: body(CreateAccountDto.schema),
      responses: {
        ...ok(201, ref('CreatedDevice')),
        ...common,
        ...problems(
          [400, 'validation_failed, malformed_json, signature_invalid'],
          [409, 'handle_taken'],
          [429, 'rate_limited (Retry-After)'],
        ),
      },
    },
  },
  '/v1/accounts/self': {
    delete: {
      ...authed,
      summary:
        'Delete the caller’s account: its devices are revoked (streams close with 4403); its tokens, push subscriptions, pending messages and memberships are deleted; its handle is free. Messages it sent stay with their recipients until acked or expired',
      responses: {
        ...ok(204, undefined, 'Deleted'),
        ...needsAuth,
        ...problems([503, 'service_unavailable']),
      },
    },
  },
  '/v1/auth/challenge': {
    post: {
      summary: 'A single-use login challenge',
      requestBody: body(ChallengeRequestDto.schema),
      responses: {
        ...ok(200, object({ challenge: base64, expiresAt: time })),
        ...common,
        ...problems([404, 'device_not_found'], [429, 'rate_limited']),
      },
    },
  },
  '/v1/auth/token': {
    post: {
      summary: 'A bearer token for a signed challenge',
      requestBody: body(TokenRequestDto.schema),
      responses: {
        ...ok(200, object({ token: { type: 'string' }, expiresAt: time })),
        ...common,
        ...problems([401, 'signature_invalid, challenge_invalid'], [429, 'rate_limited']),
      },
    },
  },
  '/v1/devices/link-codes': {
    post: {
      ...authed,
      summary: 'A single-use, short-lived code to link a new device',
      responses: {
        ...ok(201, object({ code: { type: 'string' }, expiresAt: time })),
        ...needsAuth,
        ...problems([429, 'rate_limited (per account, Retry-After)']),
      },
    },
  },
  '/v1/devices': {
    post: {
      summary: 'Add a device to an account with a link code',
      requestBody: body(LinkDeviceDto.schema),
      responses: {
        ...ok(201, ref('CreatedDevice')),
        ...common,
        ...problems(
          [400, 'validation_failed, link_code_invalid, signature_invalid'],
          [409, 'too_many_devices'],
          [429, 'rate_limited'],
        ),
      },
    },
    get: {
      ...authed,
      summary: "The caller's account's current devices",
      responses: {
        ...ok(
          200,
          object({
            devices: {
              type: 'array',
              items: object({
                deviceId: uuid,
                name: { type: 'string' },
                createdAt: time,
                lastSeenAt: { ...time, nullable: true },
              }),
            },
          }),
        ),
        ...needsAuth,
      },
    },
  },
  '/v1/devices/self/push': {
    put: {
      ...authed,
      summary:
        'Store this device’s Web Push subscription (PushSubscription.toJSON(), base64url keys), replacing any earlier one',
      requestBody: body(PushSubscriptionDto.schema),
      responses: {
        ...ok(204, undefined, 'Stored'),
        ...needsAuth,
        ...common,
        ...problems(
          [
            400,
            'push_endpoint_refused: not https, or resolves to a loopback, private or link-local address not in PUSH_ALLOWED_HOSTS',
          ],
          [429, 'rate_limited (per account, Retry-After)'],
        ),
      },
    },
    delete: {
      ...authed,
      summary: 'Remove this device’s Web Push subscription (no more wake-up pushes)',
      responses: { ...ok(204, undefined, 'Removed'), ...needsAuth },
    },
  },
  '/v1/transparency': {
    get: {
      summary:
        'Per calendar month (UTC): legal holds placed and released, exports made. Counts only, no identities',
      responses: {
        ...ok(
          200,
          object({
            periods: {
              type: 'array',
              items: object({
                period: { type: 'string', example: '2026-12' },
                holdsPlaced: { type: 'integer' },
                holdsReleased: { type: 'integer' },
                exports: { type: 'integer' },
              }),
            },
          }),
        ),
      },
    },
  },
  '/v1/admin/holds': {
    get: {
      ...admin,
      summary: 'The accounts under a legal hold',
      responses: {
        ...ok(
          200,
          object({
            holds: {
              type: 'array',
              items: object({
                accountId: uuid,
                placedAt: time,
                placedBy: uuid,
                reference: { type: 'string' },
              }),
            },
          }),
        ),
        ...needsAdmin,
      },
    },
  },
  '/v1/admin/holds/{accountId}': {
    put: {
      ...admin,
      summary:
        'Place (or re-reference) a legal hold: the account’s pending messages, to and from it, are kept past expiry until release',
      parameters: [path_('accountId')],
      requestBody: body(PlaceHoldDto.schema),
      responses: {
        ...ok(200, object({ placedAt: time })),
        ...needsAdmin,
        ...common,
        ...problems([404, 'account_not_found']),
      },
    },
    delete: {
      ...admin,
      summary: 'Release a hold: the copies it kept past expiry are deleted',
      parameters: [path_('accountId')],
      responses: {
        ...ok(200, object({ copiesDeleted: { type: 'integer' } })),
        ...needsAdmin,
        ...problems([404, 'hold_not_found']),
      },
    },
  },
  '/v1/admin/holds/{accountId}/export': {
    get: {
      ...admin,
      summary:
        'What is held of the account, streamed as NDJSON: one line per message and recipient device (source pending|held, ids, base64 ciphertext and wrapped key, times)',
      parameters: [path_('accountId')],
      responses: {
        '200': {
          description: 'NDJSON',
          content: { 'application/x-ndjson': { schema: { type: 'string' } } },
        },
        ...needsAdmin,
        ...problems([404, 'hold_not_found']),
      },
    },
  },
  '/v1/admin/purge-log': {
    get: {
      ...admin,
      summary:
        'The purge log: what each purge run removed (partitions, messages, bytes, oldest expiry left), hash-chained',
      parameters: logPage,
      responses: { ...ok(200, logEntries), ...needsAdmin, ...common },
    },
  },
  '/v1/admin/audit-log': {
    get: {
      ...admin,
      summary: 'The audit log of admin actions, hash-chained (npm run audit:verify checks it)',
      parameters: logPage,
      responses: { ...ok(200, logEntries), ...needsAdmin, ...common },
    },
  },
  '/v1/calls/turn': {
    get: {
      ...authed,
      summary:
        'TURN credentials for this device (TURN REST convention: username "<unix expiry>:<deviceId>", credential base64(HMAC-SHA1(secret, username)))',
      responses: {
        ...ok(
          200,
          object({
            urls: { type: 'array', items: { type: 'string' } },
            username: { type: 'string' },
            credential: { type: 'string' },
            ttlSeconds: { type: 'integer' },
          }),
        ),
        ...needsAuth,
        ...problems(
          [429, 'rate_limited (per account, Retry-After)'],
          [503, 'turn_unavailable: no TURN server is configured'],
        ),
      },
    },
  },
  '/v1/push/vapid': {
    get: {
      summary:
        'The server’s VAPID (RFC 8292) P-256 public key, uncompressed, base64url: a browser’s applicationServerKey',
      responses: {
        ...ok(200, object({ publicKey: { type: 'string', pattern: '^[A-Za-z0-9_-]{87}$' } })),
        ...problems([503, 'service_unavailable']),
      },
    },
  },
  '/v1/devices/{deviceId}': {
    delete: {
      ...authed,
      summary:
        'Revoke a device of the caller’s account: its tokens, socket and pending messages end',
      parameters: [path_('deviceId')],
      responses: {
        ...ok(204, undefined, 'Revoked'),
        ...needsAuth,
        ...problems([404, 'device_not_found']),
      },
    },
  },
  '/v1/directory/{handle}': {
    get: {
      ...authed,
      summary: 'An account and its current devices by handle',
      parameters: [{ name: 'handle', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        ...ok(200, ref('DirectoryEntry')),
        ...needsAuth,
        ...problems([404, 'account_not_found'], [429, 'rate_limited (per account, Retry-After)']),
      },
    },
  },
  '/v1/accounts/{accountId}/devices': {
    get: {
      ...authed,
      summary: 'An account’s current devices',
      parameters: [path_('accountId')],
      responses: {
        ...ok(200, ref('DirectoryEntry')),
        ...needsAuth,
        ...problems([404, 'account_not_found'], [429, 'rate_limited (per account, Retry-After)']),
      },
    },
  },
  '/v1/conversations': {
    post: {
      ...authed,
      summary: 'Create a conversation (the caller is its owner)',
      requestBody: body(CreateConversationDto.schema),
      responses: {
        ...ok(201, object({ conversationId: uuid })),
        ...needsAuth,
        ...common,
        ...problems(
          [404, 'account_not_found'],
          [409, 'too_many_members'],
          [429, 'rate_limited (per account, Retry-After)'],
        ),
      },
    },
    get: {
      ...authed,
      summary: "A page of the caller's conversations, in id order",
      parameters: [
        {
          name: 'limit',
          in: 'query',
          schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
        },
        {
          name: 'after',
          in: 'query',
          description: 'The `next` of the previous page',
          schema: uuid,
        },
      ],
      responses: {
        ...ok(
          200,
          object({
            conversations: {
              type: 'array',
              items: object({ conversationId: uuid, title: { type: 'string', nullable: true } }),
            },
            next: {
              ...uuid,
              nullable: true,
              description: '`after` for the next page; null on the last',
            },
          }),
        ),
        ...needsAuth,
        ...common,
      },
    },
  },
  '/v1/conversations/{id}': {
    get: {
      ...authed,
      summary: 'A conversation (members only)',
      parameters: [path_('id')],
      responses: {
        ...ok(
          200,
          object({
            conversationId: uuid,
            title: { type: 'string', nullable: true },
            members: {
              type: 'array',
              items: object({
                accountId: uuid,
                role: { type: 'string', enum: ['owner', 'member'] },
              }),
            },
          }),
        ),
        ...needsAuth,
        ...problems([404, 'conversation_not_found']),
      },
    },
  },
  '/v1/conversations/{id}/members': {
    post: {
      ...authed,
      summary: 'Add a member (members only)',
      parameters: [path_('id')],
      requestBody: body(AddMemberDto.schema),
      responses: {
        ...ok(204, undefined, 'Added'),
        ...needsAuth,
        ...common,
        ...problems(
          [404, 'conversation_not_found, account_not_found'],
          [409, 'too_many_members'],
          [429, 'rate_limited (per account, Retry-After)'],
        ),
      },
    },
  },
  '/v1/conversations/{id}/members/{accountId}': {
    delete: {
      ...authed,
      summary: 'Remove a member (the owner removes anyone; a member removes only themself)',
      parameters: [path_('id'), path_('accountId')],
      responses: {
        ...ok(204, undefined, 'Removed'),
        ...needsAuth,
        ...problems([403, 'not_owner'], [404, 'conversation_not_found, member_not_found']),
      },
    },
  },
  '/v1/messages': {
    post: {
      ...authed,
      summary:
        'Send an encrypted message; keys must cover exactly the recipients’ current devices and the sender’s other devices. urgent: rings sleeping devices (ttlSeconds ≤ 120); ephemeral: only to streams open now, never stored (the answer adds liveDevices)',
      requestBody: body(SendMessageDto.schema),
      responses: {
        ...ok(201, ref('Accepted'), 'Accepted (or the first answer to a repeated clientMessageId)'),
        ...needsAuth,
        ...common,
        ...problems(
          [404, 'account_not_found, conversation_not_found'],
          [409, 'devices_missing'],
          [410, 'devices_stale'],
          [413, 'body_too_large'],
          [422, 'no_recipient_devices'],
          [429, 'rate_limited (per device; urgent sends also per sender account and recipient)'],
        ),
      },
    },
  },
  '/v1/messages/{messageId}/status': {
    get: {
      ...authed,
      summary: 'Delivery of a message, for its sender’s account',
      parameters: [path_('messageId')],
      responses: {
        ...ok(
          200,
          object(
            {
              devices: { type: 'integer' },
              delivered: { type: 'integer' },
              pending: { type: 'integer' },
              deliveredDevices: { type: 'array', items: object({ deviceId: uuid, ackedAt: time }) },
              pendingDevices: { type: 'array', items: uuid },
              expired: {
                type: 'array',
                items: uuid,
                description:
                  'past its expiry: the devices that never acked it (answered for at least 7 days after expiry)',
              },
              undelivered: {
                type: 'array',
                description: 'devices it will never reach, and why',
                items: object({
                  deviceId: uuid,
                  reason: {
                    type: 'string',
                    enum: ['device_revoked', 'device_idle', 'account_deleted', 'queue_full'],
                  },
                }),
              },
            },
            [
              'devices',
              'delivered',
              'pending',
              'deliveredDevices',
              'pendingDevices',
              'undelivered',
            ],
          ),
        ),
        ...needsAuth,
        ...problems([404, 'message_not_found']),
      },
    },
  },
  '/v1/inbox': {
    get: {
      ...authed,
      summary:
        'The oldest pending messages of the calling device, in acceptance order: at most limit and PAGE_MAX_BYTES of ciphertext; more when others wait',
      parameters: [
        {
          name: 'limit',
          in: 'query',
          schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        },
      ],
      responses: {
        ...ok(
          200,
          object({
            messages: { type: 'array', items: ref('InboxMessage') },
            more: { type: 'boolean' },
          }),
        ),
        ...needsAuth,
        ...common,
      },
    },
  },
  '/v1/inbox/ack': {
    post: {
      ...authed,
      summary: 'Ack messages for the calling device (ids not pending for it change nothing)',
      requestBody: body(AckDto.schema),
      responses: {
        ...ok(200, object({ acked: { type: 'integer' } })),
        ...needsAuth,
        ...problems([429, 'rate_limited (Retry-After)']),
        ...common,
      },
    },
  },
  '/health/live': {
    get: {
      summary: 'The process is up',
      responses: ok(200, object({ status: { type: 'string' } })),
    },
  },
  '/health/ready': {
    get: {
      summary: 'PostgreSQL and Redis answer',
      responses: {
        ...ok(200, { type: 'object' }),
        ...problems([503, 'not_ready (down names the parts)']),
      },
    },
  },
  '/metrics': {
    get: {
      summary:
        'Prometheus metrics (with METRICS_TOKEN set: bearer token needed; with METRICS_PORT set: served on that port only)',
      responses: {
        '200': {
          description: 'text/plain',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        ...problems(
          [401, 'token_invalid (METRICS_TOKEN set)'],
          [404, 'not_found (METRICS_PORT set)'],
        ),
      },
    },
  },
};

export function buildOpenApi(): Json {
  return {
    openapi: '3.0.3',
    info: {
      title: 'Supernode',
      version: '1',
      description: 'HTTP reference. The WebSocket stream (GET /v1/stream) is in protocol.md.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        adminCredential: {
          type: 'http',
          scheme: 'bearer',
          description:
            'an admin credential (sna_…) from `npm run admin -- credential create`, never a user token',
        },
      },
      schemas,
    },
    paths,
  };
}
