import { newAccount } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('GET /v1/conversations is paged', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  it('pages of `limit` follow each other through `next` until null, each conversation once, none of others', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const mine: string[] = [];
    for (let index = 0; index < 5; index++)
      mine.push(await alice.createConversation([bob.accountId], `chat ${index}`));
    await bob.createConversation([]);

    const pages = [];
    let after: string | undefined;
    for (;;) {
      const page = await alice.listConversations({ limit: 2, after });
      pages.push(page.conversations.map((conversation) => conversation.conversationId));
      if (page.next === null) break;
      after = page.next;
    }
    expect(pages.map((ids) => ids.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual([...mine].sort());

    // Without a limit, one page of up to 100.
    const all = await alice.listConversations();
    expect(all.next).toBeNull();
    expect(all.conversations.map((conversation) => conversation.conversationId).sort()).toEqual(
      [...mine].sort(),
    );
    expect(all.conversations.map((conversation) => conversation.title).sort()).toEqual([
      'chat 0',
      'chat 1',
      'chat 2',
      'chat 3',
      'chat 4',
    ]);
  });

  it('a conversation left is no longer listed; a full last page still ends with next null', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const kept = await alice.createConversation([]);
    const left = await alice.createConversation([]);
    await alice.removeMember(left, alice.accountId);
    const page = await alice.listConversations({ limit: 1 });
    expect(page.conversations.map((conversation) => conversation.conversationId)).toEqual([kept]);
    expect(page.next).toBeNull();
  });

  it.each([['limit=0'], ['limit=501'], ['limit=two'], ['after=not-a-uuid'], ['cursor=abc']])(
    '?%s is a 400 problem',
    async (query) => {
      const alice = await newAccount(world.baseUrl, 'alice');
      const response = await fetch(`${world.baseUrl}/v1/conversations?${query}`, {
        headers: { authorization: `Bearer ${alice.currentToken}` },
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(((await response.json()) as { code: string }).code).toBe('validation_failed');
    },
  );

  it('control: a good query passes', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const response = await fetch(
      `${world.baseUrl}/v1/conversations?limit=500&after=00000000-0000-4000-8000-000000000000`,
      { headers: { authorization: `Bearer ${alice.currentToken}` } },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ conversations: [], next: null });
  });
});
