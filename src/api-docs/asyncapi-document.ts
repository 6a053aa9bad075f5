import type { ClientFrame, ServerFrame } from '../sync/stream-frames.js';
import { COMPONENT_SCHEMAS } from './openapi-schemas.js';

// The stream's reference (docs/asyncapi.json, served at /asyncapi.json):
// AsyncAPI 3 for GET /v1/stream. Each frame type of stream-frames.ts must
// have its schema here (the records below are keyed by them), and a test
// checks the frames a real stream carries against these schemas.

type Json = Record<string, unknown>;

const uuid = { type: 'string', format: 'uuid' };
const frame = (type: string, properties: Json, required: string[]): Json => ({
  type: 'object',
  additionalProperties: false,
  properties: { type: { type: 'string', const: type }, ...properties },
  required: ['type', ...required],
});

const SERVER_FRAMES: Record<ServerFrame['type'], { summary: string; payload: Json }> = {
  message: {
    summary:
      'A message for this device: first all that is pending (oldest first), then live ones. Ack it after handling; `ephemeral` ones are never stored and need no ack.',
    payload: frame(
      'message',
      {
        message: { $ref: '#/components/schemas/InboxMessage' },
        ephemeral: { type: 'boolean', const: true },
      },
      ['message'],
    ),
  },
  receipt: {
    summary:
      'A device of a recipient (or another device of yours) acked a message your account sent.',
    payload: frame('receipt', { messageId: uuid, deviceId: uuid }, ['messageId', 'deviceId']),
  },
  expired: {
    summary: 'A message your account sent expired before these devices acked it.',
    payload: frame('expired', { messageId: uuid, deviceIds: { type: 'array', items: uuid } }, [
      'messageId',
      'deviceIds',
    ]),
  },
  error: {
    summary:
      'A frame of yours was refused (malformed_frame, invalid_frame, service_unavailable: send the ack again; rate_limited with retryAfter seconds). The socket stays open unless 16 wait unread (1008).',
    payload: frame(
      'error',
      { code: { type: 'string' }, detail: { type: 'string' }, retryAfter: { type: 'number' } },
      ['code', 'detail'],
    ),
  },
};

const CLIENT_FRAMES: Record<ClientFrame['type'], { summary: string; payload: Json }> = {
  ack: {
    summary:
      'The device handled these messages: they are not sent to it again. Ids not pending change nothing.',
    payload: frame(
      'ack',
      { messageIds: { type: 'array', items: uuid, minItems: 1, maxItems: 1000 } },
      ['messageIds'],
    ),
  },
};

const CLOSE_CODES = [
  '4401 token missing, malformed, expired or revoked: log in again, reconnect',
  '4403 this device was revoked: stop',
  '4409 replaced by a newer stream of the device: do not reconnect',
  '4429 too many connects (an error frame rate_limited with retryAfter comes first)',
  '1008 too many error frames left unread',
  '1007 a text frame that is not UTF-8',
  '1009 a client frame over 64 KiB',
  '1013 a backing service is unavailable: reconnect with backoff',
  '1001 the server is shutting down: reconnect with backoff',
];

const messageRefs = (frames: object) =>
  Object.keys(frames).map((name) => ({ $ref: `#/channels/stream/messages/${name}` }));

export function buildAsyncApi(): Json {
  const messages = Object.fromEntries(
    [...Object.entries(SERVER_FRAMES), ...Object.entries(CLIENT_FRAMES)].map(([name, message]) => [
      name,
      { name, contentType: 'application/json', ...message },
    ]),
  );
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Supernode stream',
      version: '1',
      description: `GET /v1/stream: a WebSocket of JSON text frames. Authenticate with "Authorization: Bearer <token>" or the "token" query parameter (browsers). The server pings every WS_HEARTBEAT_SECONDS. Close codes: ${CLOSE_CODES.join('; ')}.`,
    },
    channels: {
      stream: {
        address: '/v1/stream',
        messages,
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: {
                token: { type: 'string', description: 'for clients that cannot set headers' },
              },
            },
          },
        },
      },
    },
    // From the server's side: it sends the server frames, receives acks.
    operations: {
      sendFrames: {
        action: 'send',
        channel: { $ref: '#/channels/stream' },
        messages: messageRefs(SERVER_FRAMES),
      },
      receiveAcks: {
        action: 'receive',
        channel: { $ref: '#/channels/stream' },
        messages: messageRefs(CLIENT_FRAMES),
      },
    },
    components: { schemas: { InboxMessage: COMPONENT_SCHEMAS.InboxMessage } },
  };
}
