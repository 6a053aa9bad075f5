import { randomBytes, randomUUID } from 'node:crypto';
import { SupernodeClient } from '@supernode/client';
import { linkDevice, newAccount, uniqueHandle } from '../factories/accounts.js';
import { answerFault, send } from '../support/abuse/http.js';
import { isPublicRoute, routeKey } from '../support/abuse/public-routes.js';
import { settleFanout, snapshotState, stateChanges } from '../support/abuse/state.js';
import { abuseOverrides } from '../support/abuse/world.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// Another account's resources that an account may legitimately use, each with the reason.
const CROSS_ACCOUNT_ALLOWED: Record<string, string> = {
  'GET /v1/directory/:handle': 'the directory: public keys are there to be read by other accounts',
  'HEAD /v1/directory/:handle': 'the HEAD twin of the directory',
  'GET /v1/accounts/:accountId/devices': 'the directory by account id, as above',
  'HEAD /v1/accounts/:accountId/devices': 'the HEAD twin of the directory',
  'POST /v1/inbox/ack':
    "acks only ever touch the caller's own deliveries; another's ids ack nothing (200, acked 0)",
  'POST /v1/conversations':
    'naming another account as a member is how conversations start (not sent: it creates one)',
};

describe('authorization matrix over every authenticated route the app registers', () => {
  let world: TestApp;
  let mallory: SupernodeClient;
  let bob: SupernodeClient;
  const tokens: Record<string, string | undefined> = {};
  const victim: Record<string, string> = {};

  beforeAll(async () => {
    world = await startTestApp(abuseOverrides());
    const bobHandle = uniqueHandle('bob');
    bob = await SupernodeClient.createAccount(world.baseUrl, bobHandle, {
      deviceName: 'bob phone',
    });
    const bobTablet = await linkDevice(bob, 'bob tablet');
    const carol = await newAccount(world.baseUrl, 'carol');
    mallory = await newAccount(world.baseUrl, 'mallory');
    const conversationId = await bob.createConversation([carol.accountId], 'bob and carol');
    const { messageId } = await bob.sendText({ accountId: carol.accountId }, 'for carol only');
    Object.assign(victim, {
      deviceId: bobTablet.deviceId,
      id: conversationId,
      conversationId,
      accountId: bob.accountId,
      messageId,
      handle: bobHandle,
    });
    // Expired: a device whose token row expires in the past.
    const expired = await linkDevice(mallory, 'expired');
    await world.pool.query(
      `UPDATE auth_tokens SET expires_at = now() - interval '1 minute' WHERE device_id = $1`,
      [expired.deviceId],
    );
    const revoked = await linkDevice(mallory, 'revoked');
    const revokedToken = revoked.currentToken;
    await mallory.revokeDevice(revoked.deviceId);
    Object.assign(tokens, {
      'no token': undefined,
      'a malformed token': 'not-a-token',
      'an unknown token': `${randomUUID()}.${randomBytes(32).toString('base64url')}`,
      'an expired token': expired.currentToken,
      "a revoked device's token": revokedToken,
    });
    await settleFanout(world);
  }, 60_000);
  afterAll(() => world?.close());

  const authenticatedRoutes = () => world.routes.filter((route) => !isPublicRoute(route));
  const pathFor = (url: string) =>
    url.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
      if (!(name in victim))
        throw new Error(`no victim value for path parameter :${name} in ${url}`);
      return encodeURIComponent(victim[name]);
    });
  // A body that names the victim's resources (routes not listed get an empty object).
  const victimBodies = (): Record<string, unknown> => ({
    'POST /v1/conversations/:id/members': { accountId: mallory.accountId },
    'POST /v1/messages': {
      clientMessageId: randomUUID(),
      to: { conversationId: victim.conversationId },
      body: Buffer.alloc(64, 1).toString('base64'),
      keys: [],
    },
    'POST /v1/inbox/ack': { messageIds: [victim.messageId] },
  });
  const bodyFor = (key: string): unknown => victimBodies()[key] ?? {};

  it('finds the authenticated routes in the running app', () => {
    expect(authenticatedRoutes().length).toBeGreaterThan(10);
  });

  it('answers 401 problem+json without a valid token, and nothing changes', async () => {
    const before = await snapshotState(world);
    const wrong: string[] = [];
    for (const route of authenticatedRoutes()) {
      for (const [what, token] of Object.entries(tokens)) {
        const answer = await send(world.baseUrl, {
          method: route.method,
          path: pathFor(route.url),
          headers: {
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}),
          },
          body: route.method === 'POST' ? JSON.stringify(bodyFor(routeKey(route))) : undefined,
        });
        // HEAD answers carry no body to check.
        const fault = route.method === 'HEAD' ? undefined : answerFault(answer);
        if (answer.status !== 401 || fault)
          wrong.push(`${routeKey(route)} with ${what}: ${answer.status} ${fault ?? ''}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(stateChanges(before, await snapshotState(world))).toEqual([]);
  }, 60_000);

  it("answers 403/404 to another account's token on the victim's resources, shows none of them, and nothing changes", async () => {
    const before = await snapshotState(world);
    const wrong: string[] = [];
    const secrets = [victim.conversationId, victim.messageId, 'bob tablet', 'bob and carol'];
    for (const route of authenticatedRoutes()) {
      const key = routeKey(route);
      if (key === 'POST /v1/conversations') continue; // see CROSS_ACCOUNT_ALLOWED
      // A route naming no resource (no path parameter, no id in its body) acts on the
      // caller's own: a read is sent and must show nothing of the victim; a write is not sent.
      const namesVictim = route.url.includes(':') || key in victimBodies();
      const readOnly = route.method === 'GET' || route.method === 'HEAD';
      if (!namesVictim && !readOnly) continue;
      const answer = await send(world.baseUrl, {
        method: route.method,
        path: pathFor(route.url),
        headers: {
          authorization: `Bearer ${mallory.currentToken}`,
          ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
        body: route.method === 'POST' ? JSON.stringify(bodyFor(key)) : undefined,
      });
      const allowed = key in CROSS_ACCOUNT_ALLOWED || !namesVictim;
      // The admin API takes admin credentials only: a user's token, anyone's, is no credential there.
      const adminRoute = route.url.startsWith('/v1/admin/');
      if (adminRoute && answer.status !== 401) wrong.push(`${key}: ${answer.status}`);
      if (!adminRoute && !allowed && answer.status !== 403 && answer.status !== 404)
        wrong.push(`${key}: ${answer.status}`);
      if (allowed && answer.status >= 500) wrong.push(`${key}: ${answer.status}`);
      const fault = route.method === 'HEAD' ? undefined : answerFault(answer);
      if (fault) wrong.push(`${key}: ${fault}`);
      const leaked = secrets.filter(
        (secret) => answer.text.includes(secret) && !pathFor(route.url).includes(secret),
      );
      if (leaked.length > 0) wrong.push(`${key} shows the victim's ${leaked.join(', ')}`);
    }
    expect(wrong).toEqual([]);
    expect(stateChanges(before, await snapshotState(world))).toEqual([]);
  }, 60_000);
});
