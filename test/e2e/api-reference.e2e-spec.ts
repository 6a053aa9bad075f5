import { QUEUE_DASHBOARD_PATH } from '../../src/admin/queue-dashboard.js';
import type { OpenAPIObject, OperationObject } from '@nestjs/swagger';
import { Ajv } from 'ajv';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import {
  API_DOCS_PATH,
  ASYNCAPI_JSON_PATH,
  OPENAPI_JSON_PATH,
} from '../../src/api-docs/api-docs.js';
import { buildAsyncApi } from '../../src/api-docs/asyncapi-document.js';
import { API_TAGS } from '../../src/api-docs/openapi-decorators.js';
import { COMPONENT_SCHEMAS } from '../../src/api-docs/openapi-schemas.js';
import { DEMO_PATH } from '../../src/demo/demo-page.js';
import { readFileSync } from 'node:fs';
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

/** Each operation of a document with its "METHOD /path". */
function operationsOf(document: OpenAPIObject): [string, OperationObject][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item as Record<string, OperationObject>).map(
      ([method, operation]): [string, OperationObject] => [
        `${method.toUpperCase()} ${path}`,
        operation,
      ],
    ),
  );
}

describe('the HTTP reference (docs/openapi.json)', () => {
  let world: TestApp;
  let served: OpenAPIObject;
  beforeAll(async () => {
    world = await startTestApp();
    served = (await (await fetch(`${world.baseUrl}${OPENAPI_JSON_PATH}`)).json()) as OpenAPIObject;
  });
  afterAll(() => world.close());

  it('names exactly the routes the app serves', () => {
    const inDoc = operationsOf(served)
      .map(([route]) => route.replace(/\{(\w+)\}/g, ':$1'))
      .sort();
    const routes = servedRoutes(
      world.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false }),
    );
    expect(routes.length).toBeGreaterThan(15);
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
    for (const path of pages) expect(routes).toContain(`GET ${path}`);
    expect(inDoc).toEqual(
      routes.filter((route) => !pages.some((path) => route.includes(` ${path}`))),
    );
  });

  // @nestjs/swagger lists every route, decorated or not: what marks a route
  // as documented is its own decorators (@ApiOperation, @ApiTags, @ApiResponse).
  it('documents every route: an operationId and summary of its own, a group, every answer described', () => {
    const undocumented: string[] = [];
    const operationIds = new Set<string>();
    for (const [route, operation] of operationsOf(served)) {
      // Without @ApiOperation swagger makes one up as Controller_method.
      if (!/^[a-z][A-Za-z]+$/.test(operation.operationId ?? ''))
        undocumented.push(`${route}: operationId ${operation.operationId}`);
      if (operationIds.has(operation.operationId!))
        undocumented.push(`${route}: operationId ${operation.operationId} twice`);
      operationIds.add(operation.operationId!);
      if (!operation.summary) undocumented.push(`${route}: no summary`);
      if (!operation.tags?.length || !operation.tags.every((tag) => tag in API_TAGS))
        undocumented.push(`${route}: tags ${JSON.stringify(operation.tags)}`);
      const statuses = Object.keys(operation.responses);
      if (!statuses.some((status) => /^[23]/.test(status)))
        undocumented.push(`${route}: no success answer`);
      // Without @ApiResponse swagger adds the default status, undescribed.
      for (const status of statuses) {
        const answer = operation.responses[status] as {
          description: string;
          content?: object;
        };
        if (!answer.description) undocumented.push(`${route}: ${status} undescribed`);
        if (/^[45]/.test(status) && !('application/problem+json' in (answer.content ?? {})))
          undocumented.push(`${route}: ${status} is not a problem`);
      }
    }
    expect(undocumented).toEqual([]);
    // No schema swagger made up from a DTO class that no decorator described.
    expect(Object.keys(served.components!.schemas!).sort()).toEqual(
      Object.keys(COMPONENT_SCHEMAS).sort(),
    );
  });

  it('names the credentials and the answer of every route called without any', async () => {
    const mismatches: string[] = [];
    for (const [route, operation] of operationsOf(served)) {
      const [method, path] = route.split(' ');
      const url = path.replace(/\{(\w+)\}/g, (_match, name: string) =>
        name === 'handle' ? 'nobody' : randomUUID(),
      );
      const answer = await fetch(`${world.baseUrl}${url}`, { method });
      await answer.arrayBuffer();
      const documented = Object.keys(operation.responses);
      if (!documented.includes(String(answer.status)))
        mismatches.push(`${route}: answered ${answer.status}, documents ${documented.join(', ')}`);
      if ((answer.status === 401) !== Boolean(operation.security?.length))
        mismatches.push(
          `${route}: answered ${answer.status}, security ${JSON.stringify(operation.security)}`,
        );
    }
    expect(mismatches).toEqual([]);
  });

  it('is the committed file, regenerated from the controllers (npm run openapi)', () => {
    expect(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))).toEqual(served);
  });

  it('is served: the document at /openapi.json, Swagger UI at /docs', async () => {
    expect(served.openapi).toBe('3.0.3');
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
