import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { generateDeviceKeys, publicDeviceKeys } from '@supernode/client';
import { uniqueHandle } from '../factories/accounts.js';
import { abuseRuns, badPathSegment } from '../support/abuse/generators.js';
import { badInputFault, describeRequest, type RawRequest, send } from '../support/abuse/http.js';
import { badRequests } from '../support/abuse/requests.js';
import { routeKey } from '../support/abuse/public-routes.js';
import { snapshotState, stateChanges } from '../support/abuse/state.js';
import {
  abuseOverrides,
  type AbuseCast,
  createCast,
  routeTemplates,
} from '../support/abuse/world.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// Generated bad requests over every route the app registers: each answer is a
// 4xx problem+json, and nothing in PostgreSQL or Redis changes.
const RUNS_PER_ASPECT = abuseRuns(40);

describe('generated bad requests to every route get a 4xx problem and change nothing', () => {
  let world: TestApp;
  let cast: AbuseCast;

  beforeAll(async () => {
    world = await startTestApp(abuseOverrides());
    cast = await createCast(world);
  }, 60_000);
  afterAll(() => world?.close());

  const templates = () =>
    routeTemplates(
      cast,
      () => ({ name: 'phone', ...publicDeviceKeys(generateDeviceKeys()) }),
      () => uniqueHandle(),
      world.env,
    );

  /** Sends every generated request; the property fails on the first answer that is not a 4xx problem. */
  async function holds(requests: fc.Arbitrary<RawRequest>, runs: number): Promise<void> {
    await fc.assert(
      fc.asyncProperty(requests, async (request) => {
        const answer = await send(world.baseUrl, request);
        const fault = badInputFault(answer);
        if (fault)
          throw new Error(`${describeRequest(request)}\n→ ${fault}\n${answer.text.slice(0, 300)}`);
      }),
      { numRuns: runs, endOnFailure: true },
    );
  }

  it('covers every registered route but the bodiless HEAD twins', () => {
    const routes = world.routes.filter((route) => route.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(15);
  });

  // One test per route, named after it, read from the app once it runs.
  it('each route: bad path parameters, queries, bodies, JSON and content types', async () => {
    const failures: string[] = [];
    for (const route of world.routes.filter((route) => route.method !== 'HEAD')) {
      const aspects = badRequests(
        route,
        templates()[routeKey(route)],
        () => cast.alice.currentToken ?? '',
      );
      const before = await snapshotState(world);
      // Each aspect on its own, so that one known failure does not hide the others.
      for (const [aspect, requests] of Object.entries(aspects)) {
        try {
          await holds(requests, RUNS_PER_ASPECT);
        } catch (error) {
          const cause =
            (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
          failures.push(
            `${routeKey(route)}, ${aspect}: ${cause.split('\n').slice(0, 4).join('\n')}`,
          );
        }
      }
      const changes = stateChanges(before, await snapshotState(world));
      if (changes.length > 0)
        failures.push(`${routeKey(route)} changed state: ${changes.join('; ')}`);
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('paths that match no route, with broken encoding or odd methods, get a 404/405 problem', async () => {
    const before = await snapshotState(world);
    const segment = fc.oneof(
      badPathSegment,
      fc.webSegment(),
      fc.constantFrom('v1', 'v2', 'devices', '..', '.', ''),
    );
    const unknownPath = fc
      .array(segment, { minLength: 1, maxLength: 5 })
      .map((segments) => `/${segments.join('/')}`)
      .filter((path) => !world.routes.some((route) => matches(route.url, path)));
    const requests = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      path: unknownPath,
      headers: fc.constant({ authorization: `Bearer ${cast.alice.currentToken}` }),
    });
    await holds(requests, RUNS_PER_ASPECT * 4);
    expect(stateChanges(before, await snapshotState(world))).toEqual([]);
  }, 120_000);

  it('a body over the request limit gets 413 on every route that takes one', async () => {
    const before = await snapshotState(world);
    const huge = JSON.stringify({ padding: 'a'.repeat(2 * 1024 * 1024) });
    for (const route of world.routes.filter((route) => route.method === 'POST')) {
      const path = route.url.replace(/:([A-Za-z]+)/g, () => randomUUID());
      const answer = await send(world.baseUrl, {
        method: route.method,
        path,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${cast.alice.currentToken}`,
        },
        body: huge,
      });
      expect({ route: routeKey(route), fault: badInputFault(answer) }).toEqual({
        route: routeKey(route),
        fault: undefined,
      });
    }
    expect(stateChanges(before, await snapshotState(world))).toEqual([]);
  }, 60_000);

  it('an upper-case id means the same as its lower-case form, or is refused with 400', async () => {
    const reads = [
      `/v1/conversations/${cast.conversationId}`,
      `/v1/accounts/${cast.bob.accountId}/devices`,
      `/v1/messages/${cast.messageId}/status`,
    ];
    for (const path of reads) {
      const headers = { authorization: `Bearer ${cast.alice.currentToken}` };
      const lower = await send(world.baseUrl, { method: 'GET', path, headers });
      const upper = await send(world.baseUrl, { method: 'GET', path: upperCaseIds(path), headers });
      expect(lower.status).toBe(200);
      const outcome =
        upper.status === 400 ? 'refused' : upper.text === lower.text ? 'same' : upper.status;
      expect({ path, outcome }).toEqual({
        path,
        outcome: expect.stringMatching(/^(refused|same)$/),
      });
    }
  });

  it('the state check sees a change (control: a valid send changes it)', async () => {
    const before = await snapshotState(world);
    await cast.alice.sendText({ accountId: cast.bob.accountId }, 'control');
    expect(stateChanges(before, await snapshotState(world))).not.toEqual([]);
  });
});

function matches(routeUrl: string, path: string): boolean {
  const pattern = new RegExp(`^${routeUrl.replace(/:[A-Za-z]+/g, '[^/]+')}/?$`);
  return pattern.test(path.split('?')[0]);
}

const upperCaseIds = (path: string) =>
  path.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) =>
    id.toUpperCase(),
  );
