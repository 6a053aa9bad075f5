import { randomUUID } from 'node:crypto';
import type { SupernodeClient } from '@supernode/client';
import { newAccount } from '../factories/accounts.js';
import { rawCall, sealedSend } from '../support/raw-send.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { tableCounts } from '../support/test-env.js';

const TABLES = [
  'messages',
  'deliveries',
  'message_receipts',
  'conversations',
  'conversation_members',
];

describe('bad input to messages, inbox and conversations gets a clear 4xx and changes nothing', () => {
  let world: TestApp;
  let alice: SupernodeClient;
  let bob: SupernodeClient;
  let good: ReturnType<typeof sealedSend>;
  let conversationId: string;

  beforeAll(async () => {
    world = await startTestApp({
      MAX_BODY_BYTES: '1024',
      MAX_TTL_SECONDS: '3600',
      DEFAULT_TTL_SECONDS: '600',
      MAX_CONVERSATION_MEMBERS: '3',
    });
    alice = await newAccount(world.baseUrl, 'alice');
    bob = await newAccount(world.baseUrl, 'bob');
    conversationId = await alice.createConversation([bob.accountId]);
    good = sealedSend(
      alice,
      { accountId: bob.accountId },
      (await alice.devicesOf(bob.accountId)).devices,
    );
  });
  afterAll(() => world.close());

  const withSend = (change: (body: Record<string, unknown>) => void) => () => {
    const body: Record<string, unknown> = structuredClone({
      ...good,
      clientMessageId: randomUUID(),
    });
    change(body);
    return body;
  };
  const keys = () => good.keys;

  const cases: {
    name: string;
    method?: string;
    path?: string;
    body?: () => unknown;
    raw?: string;
    status: number;
    code: string;
  }[] = [
    {
      name: 'body that is not base64',
      body: withSend((b) => (b.body = 'not base64!!')),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'body with a padding character too many',
      body: withSend((b) => (b.body = `${String(b.body)}=`)),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'body without its padding',
      body: withSend((b) => (b.body = `${String(b.body).slice(0, -4)}AA`)),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'body too short to be a ciphertext',
      body: withSend((b) => (b.body = 'AAAA')),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'wrapped key of the wrong length',
      body: withSend((b) => (b.keys = [{ ...keys()[0], wrappedKey: 'AAAA' }])),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'the same device keyed twice',
      body: withSend((b) => (b.keys = [keys()[0], keys()[0]])),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'negative TTL',
      body: withSend((b) => (b.ttlSeconds = -5)),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'zero TTL',
      body: withSend((b) => (b.ttlSeconds = 0)),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'TTL above the maximum',
      body: withSend((b) => (b.ttlSeconds = 3601)),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'TTL that is not an integer',
      body: withSend((b) => (b.ttlSeconds = 1.5)),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'TTL as a string',
      body: withSend((b) => (b.ttlSeconds = '60')),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'body above MAX_BODY_BYTES',
      body: withSend((b) => (b.body = Buffer.alloc(2000).toString('base64'))),
      status: 413,
      code: 'body_too_large',
    },
    {
      name: 'to with both account and conversation',
      body: withSend((b) => (b.to = { accountId: bob.accountId, conversationId })),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'to with neither',
      body: withSend((b) => (b.to = {})),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'to that is a string',
      body: withSend((b) => (b.to = bob.accountId)),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'to an account id that is not a uuid',
      body: withSend((b) => (b.to = { accountId: 'bob' })),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'to an unknown account',
      body: withSend((b) => {
        b.to = { accountId: randomUUID() };
        b.keys = [];
      }),
      status: 404,
      code: 'account_not_found',
    },
    {
      name: 'to an unknown conversation',
      body: withSend((b) => (b.to = { conversationId: randomUUID() })),
      status: 404,
      code: 'conversation_not_found',
    },
    {
      name: 'missing clientMessageId',
      body: withSend((b) => delete b.clientMessageId),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'clientMessageId that is not a uuid',
      body: withSend((b) => (b.clientMessageId = 'msg-1')),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'keys that is not an array',
      body: withSend((b) => (b.keys = 'all')),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'an unknown field',
      body: withSend((b) => (b.priority = 'high')),
      status: 400,
      code: 'validation_failed',
    },
    { name: 'malformed JSON', raw: '{"clientMessageId": ', status: 400, code: 'malformed_json' },
    { name: 'a JSON array', raw: '[]', status: 400, code: 'validation_failed' },
    {
      name: 'ack of ids that are not uuids',
      path: '/v1/inbox/ack',
      body: () => ({ messageIds: ['x'] }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'ack of nothing',
      path: '/v1/inbox/ack',
      body: () => ({ messageIds: [] }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'inbox limit 0',
      method: 'GET',
      path: '/v1/inbox?limit=0',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'inbox limit abc',
      method: 'GET',
      path: '/v1/inbox?limit=abc',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'inbox limit above 1000',
      method: 'GET',
      path: '/v1/inbox?limit=5000',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'status of an unknown message',
      method: 'GET',
      path: `/v1/messages/${randomUUID()}/status`,
      status: 404,
      code: 'message_not_found',
    },
    {
      name: 'status of a non-uuid id',
      method: 'GET',
      path: '/v1/messages/abc/status',
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a conversation with an unknown member',
      path: '/v1/conversations',
      body: () => ({ members: [randomUUID()] }),
      status: 404,
      code: 'account_not_found',
    },
    {
      name: 'a conversation above the member limit',
      path: '/v1/conversations',
      body: () => ({ members: [bob.accountId, randomUUID(), randomUUID()] }),
      status: 409,
      code: 'too_many_members',
    },
    {
      name: 'a title with a NUL',
      path: '/v1/conversations',
      body: () => ({ members: [bob.accountId], title: 'pla\u0000ns' }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a title with a line feed',
      path: '/v1/conversations',
      body: () => ({ members: [bob.accountId], title: 'plans\nand more' }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a title with a left-to-right isolate',
      path: '/v1/conversations',
      body: () => ({ members: [bob.accountId], title: '\u2066plans' }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'a conversation with members that are not uuids',
      path: '/v1/conversations',
      body: () => ({ members: ['bob'] }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'adding an unknown account',
      path: `/v1/conversations/CONVERSATION/members`,
      body: () => ({ accountId: randomUUID() }),
      status: 404,
      code: 'account_not_found',
    },
  ];

  it.each(cases)(
    '$name → $status $code',
    async ({ method = 'POST', path = '/v1/messages', body, raw, status, code }) => {
      const before = await tableCounts(world.pool, TABLES);
      const answer = await rawCall(
        alice,
        method,
        path.replace('CONVERSATION', conversationId),
        body?.(),
        raw,
      );
      expect({ status: answer.status, code: answer.body.code }).toEqual({ status, code });
      expect(answer.contentType).toContain('application/problem+json');
      expect(answer.body).toMatchObject({
        type: expect.any(String),
        title: expect.any(String),
        status,
      });
      expect(await tableCounts(world.pool, TABLES)).toEqual(before);
    },
  );

  it('the control case is accepted, so the table above tests the field it names', async () => {
    const answer = await rawCall(alice, 'POST', '/v1/messages', withSend(() => undefined)());
    expect(answer.status).toBe(201);
  });

  it('the control: a title in any script, with emoji and direction marks, is accepted', async () => {
    const title = 'Plans \u05E9\u05DC\u05D5\u05DD\u200F 🎉';
    const answer = await rawCall(alice, 'POST', '/v1/conversations', {
      members: [bob.accountId],
      title,
    });
    expect(answer.status).toBe(201);
    const conversation = await bob.getConversation(answer.body.conversationId as string);
    expect(conversation.title).toBe(title);
  });
});
