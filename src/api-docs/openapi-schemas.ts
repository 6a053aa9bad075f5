import { z } from 'zod';
import type { ZodDtoClass } from '../common/validation.js';

// The JSON schemas of the HTTP reference that no zod schema gives: answers are
// built in code rather than validated, so their shapes are written here, next
// to the named component schemas (which the SDK's wire types are checked
// against: test/unit/sdk-wire-types.spec.ts). Request schemas come from the
// zod schemas that validate them.

export type JsonSchema = Record<string, unknown>;

/** What a client sends for a DTO: the input side of its transforms and defaults. */
export const requestSchema = (dto: Pick<ZodDtoClass<unknown>, 'schema'>): JsonSchema =>
  z.toJSONSchema(dto.schema, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' });

export const UUID = { type: 'string', format: 'uuid' };
const DATE_TIME = { type: 'string', format: 'date-time' };
const BASE64 = { type: 'string', format: 'byte' };
const STRING = { type: 'string' };
const INTEGER = { type: 'integer' };

const objectSchema = (properties: JsonSchema, required = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  properties,
  required,
});

export const COMPONENT_SCHEMAS = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem; `code` is stable. Some codes add members (see each).',
    properties: {
      type: STRING,
      title: STRING,
      status: INTEGER,
      detail: STRING,
      code: STRING,
      errors: {
        type: 'array',
        description: 'validation_failed: one entry per field',
        items: objectSchema({ field: STRING, message: STRING }),
      },
      missingDevices: {
        type: 'array',
        description: 'devices_missing / devices_stale',
        items: { $ref: '#/components/schemas/MissingDevice' },
      },
      staleDevices: { type: 'array', description: 'devices_stale', items: UUID },
      unknownAccounts: {
        type: 'array',
        description: 'account_not_found on conversations',
        items: UUID,
      },
      down: {
        type: 'array',
        description: 'not_ready: the parts that are down',
        items: STRING,
      },
    },
    required: ['type', 'title', 'status', 'code'],
  },
  DirectoryDevice: objectSchema(
    {
      deviceId: UUID,
      signingKey: BASE64,
      boxKey: BASE64,
      boxKeySignature: BASE64,
      online: { type: 'boolean', nullable: true },
    },
    ['deviceId', 'signingKey', 'boxKey', 'boxKeySignature'],
  ),
  MissingDevice: objectSchema({
    accountId: UUID,
    deviceId: UUID,
    signingKey: BASE64,
    boxKey: BASE64,
    boxKeySignature: BASE64,
  }),
  DirectoryEntry: objectSchema({
    accountId: UUID,
    handle: STRING,
    devices: { type: 'array', items: { $ref: '#/components/schemas/DirectoryDevice' } },
  }),
  InboxMessage: objectSchema({
    messageId: UUID,
    clientMessageId: UUID,
    senderAccountId: UUID,
    senderDeviceId: UUID,
    conversationId: { ...UUID, nullable: true },
    body: BASE64,
    wrappedKey: BASE64,
    acceptedAt: DATE_TIME,
    expiresAt: DATE_TIME,
  }),
  Accepted: objectSchema(
    {
      messageId: UUID,
      acceptedAt: DATE_TIME,
      expiresAt: DATE_TIME,
      liveDevices: {
        type: 'integer',
        description: 'ephemeral sends only: how many devices had a stream open and got it',
      },
      undelivered: {
        type: 'array',
        description: 'devices it was not stored for: their queue is full',
        items: objectSchema({ deviceId: UUID, reason: { type: 'string', enum: ['queue_full'] } }),
      },
    },
    ['messageId', 'acceptedAt', 'expiresAt'],
  ),
  CreatedDevice: objectSchema({ accountId: UUID, deviceId: UUID }),
} satisfies Record<string, JsonSchema>;

export type ComponentSchemaName = keyof typeof COMPONENT_SCHEMAS;

export const schemaRef = (name: ComponentSchemaName) => ({
  $ref: `#/components/schemas/${name}`,
});

// The answers of single routes, named for what they hold.

export const CHALLENGE = objectSchema({ challenge: BASE64, expiresAt: DATE_TIME });
export const BEARER_TOKEN = objectSchema({ token: STRING, expiresAt: DATE_TIME });
export const LINK_CODE = objectSchema({ code: STRING, expiresAt: DATE_TIME });

export const DEVICE_LIST = objectSchema({
  devices: {
    type: 'array',
    items: objectSchema({
      deviceId: UUID,
      name: STRING,
      createdAt: DATE_TIME,
      lastSeenAt: { ...DATE_TIME, nullable: true },
    }),
  },
});

export const TRANSPARENCY_REPORT = objectSchema({
  periods: {
    type: 'array',
    items: objectSchema({
      period: { type: 'string', example: '2026-12' },
      holdsPlaced: INTEGER,
      holdsReleased: INTEGER,
      exports: INTEGER,
    }),
  },
});

export const LEGAL_HOLDS = objectSchema({
  holds: {
    type: 'array',
    items: objectSchema({
      accountId: UUID,
      placedAt: DATE_TIME,
      placedBy: UUID,
      reference: STRING,
    }),
  },
});
export const HOLD_PLACED = objectSchema({ placedAt: DATE_TIME });
export const HOLD_RELEASED = objectSchema({ copiesDeleted: INTEGER });

/** A page of the purge log or the audit log. */
export const LOG_ENTRIES = objectSchema({
  entries: {
    type: 'array',
    items: objectSchema(
      {
        seq: INTEGER,
        at: DATE_TIME,
        actor: STRING,
        action: STRING,
        subject: { type: 'string', nullable: true },
        details: { type: 'object' },
        prevHash: { type: 'string', description: 'hex' },
        hash: { type: 'string', description: 'hex: SHA-256 of prevHash and the entry' },
      },
      ['seq', 'at', 'actor', 'action', 'details', 'prevHash', 'hash'],
    ),
  },
});

export const TURN_CREDENTIALS = objectSchema({
  urls: { type: 'array', items: STRING },
  username: STRING,
  credential: STRING,
  ttlSeconds: INTEGER,
});

export const VAPID_PUBLIC_KEY = objectSchema({
  publicKey: { type: 'string', pattern: '^[A-Za-z0-9_-]{87}$' },
});

export const CONVERSATION_CREATED = objectSchema({ conversationId: UUID });

export const CONVERSATION_PAGE = objectSchema({
  conversations: {
    type: 'array',
    items: objectSchema({ conversationId: UUID, title: { type: 'string', nullable: true } }),
  },
  next: { ...UUID, nullable: true, description: '`after` for the next page; null on the last' },
});

export const CONVERSATION = objectSchema({
  conversationId: UUID,
  title: { type: 'string', nullable: true },
  members: {
    type: 'array',
    items: objectSchema({ accountId: UUID, role: { type: 'string', enum: ['owner', 'member'] } }),
  },
});

export const MESSAGE_STATUS = objectSchema(
  {
    devices: INTEGER,
    delivered: INTEGER,
    pending: INTEGER,
    deliveredDevices: {
      type: 'array',
      items: objectSchema({ deviceId: UUID, ackedAt: DATE_TIME }),
    },
    pendingDevices: { type: 'array', items: UUID },
    expired: {
      type: 'array',
      items: UUID,
      description:
        'past its expiry: the devices that never acked it (answered for at least 7 days after expiry)',
    },
    undelivered: {
      type: 'array',
      description: 'devices it will never reach, and why',
      items: objectSchema({
        deviceId: UUID,
        reason: {
          type: 'string',
          enum: ['device_revoked', 'device_idle', 'account_deleted', 'queue_full'],
        },
      }),
    },
  },
  ['devices', 'delivered', 'pending', 'deliveredDevices', 'pendingDevices', 'undelivered'],
);

export const INBOX_PAGE = objectSchema({
  messages: { type: 'array', items: schemaRef('InboxMessage') },
  more: { type: 'boolean' },
});

export const ACKED = objectSchema({ acked: INTEGER });

export const LIVENESS = objectSchema({ status: STRING });
