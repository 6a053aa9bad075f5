import { FanoutProducer } from '../../src/sync/fanout.producer.js';
import { newAccount } from '../factories/accounts.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

const metricValue = (text: string, name: string): number => {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
};

describe('GET /metrics', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  it('counts accepted messages, requests by route template and fan-out jobs, and shows no secrets', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const before = await (await fetch(`${world.baseUrl}/metrics`)).text();
    const sent = await alice.sendText({ accountId: bob.accountId }, 'counted');
    // Refused by the auth guard, before any handler: counted too.
    const refused = await fetch(`${world.baseUrl}/v1/inbox`, {
      headers: { authorization: 'Bearer forged' },
    });
    expect(refused.status).toBe(401);

    const response = await fetch(`${world.baseUrl}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const after = await response.text();
    expect(metricValue(after, 'supernode_messages_accepted_total')).toBe(
      metricValue(before, 'supernode_messages_accepted_total') + 1,
    );
    expect(after).toContain('method="POST",route="/v1/messages",status="201"');
    expect(after).toContain('method="GET",route="/v1/inbox",status="401"');
    // Bob is connected nowhere, so the send itself needed no job: enqueue
    // one as the reconciler would.
    await world.app
      .get(FanoutProducer)
      .enqueue([{ messageId: sent.messageId, deviceIds: [bob.deviceId] }]);
    await waitFor('fan-out job metric', async () =>
      (await (await fetch(`${world.baseUrl}/metrics`)).text()).includes(
        'job="fanout-message",outcome="completed"',
      ),
    );
    // Route templates only: no ids, and never a token.
    expect(after).not.toContain(bob.accountId);
    expect(after).not.toContain(alice.currentToken ?? 'no-token');
  });
});
