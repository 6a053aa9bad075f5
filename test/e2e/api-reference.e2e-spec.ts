import { QUEUE_DASHBOARD_PATH } from '../../src/admin/queue-dashboard.js';
import { Ajv } from 'ajv';
import WebSocket from 'ws';
import {
  API_DOCS_PATH,
  ASYNCAPI_JSON_PATH,
  OPENAPI_JSON_PATH,
} from '../../src/api-docs/api-docs.js';
import { buildAsyncApi } from '../../src/api-docs/asyncapi-document.js';
import { DEMO_PATH } from '../../src/demo/demo-page.js';
import { readFileSync } from 'node:fs';
import { buildOpenApi } from '../../src/api-docs/openapi-document.js';
import { ASYNCAPI_FILE, OPENAPI_FILE } from '../../scripts/openapi.js';
import { newAccount } from '../factories/accounts.js';
import { waitFor } from '../support/wait.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Every "METHOD /path" fastify serves, read from its route tree (HEAD is implied by GET). */
function servedRoutes(tree: string): string[] {
  const routes: string[] = [];
  const prefixes: string[] = [];
  for (const line of tree.split('\n')) {
    // A node without methods ("├── /demo/") is only a prefix of those below it.
    const match = line.match(/^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?$/u);
    if (!match) continue;
    const depth = match[1].length / 4;
    const path = (prefixes[depth - 1] ?? '') + match[2];
    prefixes[depth] = path;
    for (const method of match[3]?.split(', ') ?? [])
      if (method !== 'HEAD') routes.push(`${method} ${path}`);
  }
  return routes.sort();
}

describe('the HTTP reference (docs/openapi.json)', () => {
  let world: TestApp;
  beforeAll(async () => {
    world = await startTestApp();
  });
  afterAll(() => world.close());

  it('names exactly the routes the app serves', () => {
    const documented = buildOpenApi().paths as Record<string, Record<string, unknown>>;
    const inDoc = Object.entries(documented)
      .flatMap(([path, operations]) =>
        Object.keys(operations).map(
          (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`,
        ),
      )
      .sort();
    const served = servedRoutes(
      world.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false }),
    );
    expect(served.length).toBeGreaterThan(15);
    // The queue dashboard is Bull Board's own UI and API, for operators
    // (docs/operations.md), the demo is static pages (docs/demo.md), and the
    // reference serves itself: none of them is part of the HTTP reference.
    const pages = [
      QUEUE_DASHBOARD_PATH,
      DEMO_PATH,
      API_DOCS_PATH,
      OPENAPI_JSON_PATH,
      ASYNCAPI_JSON_PATH,
    ];
    for (const path of pages) expect(served).toContain(`GET ${path}`);
    expect(inDoc).toEqual(
      served.filter((route) => !pages.some((path) => route.includes(` ${path}`))),
    );
  });

  it('is the committed file, regenerated from the request schemas (npm run openapi)', () => {
    expect(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))).toEqual(buildOpenApi());
  });

  it('is served: the document at /openapi.json, Swagger UI at /docs', async () => {
    const served = await fetch(`${world.baseUrl}${OPENAPI_JSON_PATH}`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(buildOpenApi());
    const viewer = await fetch(`${world.baseUrl}${API_DOCS_PATH}`);
    expect(viewer.status).toBe(200);
    expect(await viewer.text()).toContain('swagger-ui');
  });

  it('has the stream’s frames in docs/asyncapi.json, current and served, and every frame a stream carries fits its schema', async () => {
    const asyncapi = buildAsyncApi();
    expect(JSON.parse(readFileSync(ASYNCAPI_FILE, 'utf8'))).toEqual(asyncapi);
    expect(await (await fetch(`${world.baseUrl}${ASYNCAPI_JSON_PATH}`)).json()).toEqual(asyncapi);

    // OpenAPI 3.0's nullable and formats: checked as the document means them.
    const ajv = new Ajv({ strict: false, validateFormats: false });
    ajv.addSchema(asyncapi, 'asyncapi');
    const documented = Object.keys(
      (asyncapi.channels as { stream: { messages: object } }).stream.messages,
    );
    const problems: string[] = [];
    const check = (frame: { type?: string }) => {
      if (!frame.type || !documented.includes(frame.type)) {
        problems.push(`undocumented frame: ${JSON.stringify(frame)}`);
        return;
      }
      const validate = ajv.getSchema(`asyncapi#/channels/stream/messages/${frame.type}/payload`)!;
      if (!validate(frame)) problems.push(`${frame.type}: ${ajv.errorsText(validate.errors)}`);
    };

    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const frames = new Map<string, { type: string }[]>();
    const open = async (name: string, token: string) => {
      const socket = new WebSocket(`${world.baseUrl.replace(/^http/, 'ws')}/v1/stream`, {
        headers: { authorization: `Bearer ${token}` },
      });
      frames.set(name, []);
      socket.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { type: string };
        frames.get(name)!.push(frame);
        check(frame);
      });
      await new Promise((resolve) => socket.once('open', resolve));
      return socket;
    };
    const aliceSocket = await open('alice', alice.currentToken!);
    const bobSocket = await open('bob', bob.currentToken!);
    const { messageId } = await alice.sendText({ accountId: bob.accountId }, 'stored');
    await alice.sendText({ accountId: bob.accountId }, 'live only', { ephemeral: true });
    await waitFor('both messages', () => frames.get('bob')!.length >= 2);
    // Bob's ack makes a receipt for Alice; his bad frames make errors.
    bobSocket.send(JSON.stringify({ type: 'ack', messageIds: [messageId] }));
    bobSocket.send('not json');
    bobSocket.send(JSON.stringify({ type: 'subscribe' }));
    await waitFor('the receipt', () =>
      frames.get('alice')!.some((frame) => frame.type === 'receipt'),
    );
    await waitFor(
      'the errors',
      () => frames.get('bob')!.filter((f) => f.type === 'error').length >= 2,
    );
    aliceSocket.close();
    bobSocket.close();

    const seen = new Set([...frames.values()].flat().map((frame) => frame.type));
    expect([...seen].sort()).toEqual(['error', 'message', 'receipt']);
    expect(problems).toEqual([]);
  });
});
