import { QUEUE_DASHBOARD_PATH } from '../../src/admin/queue-dashboard.js';
import { API_DOCS_PATH, OPENAPI_JSON_PATH } from '../../src/api-docs/api-docs.js';
import { DEMO_PATH } from '../../src/demo/demo-page.js';
import { readFileSync } from 'node:fs';
import { buildOpenApi } from '../../src/api-docs/openapi-document.js';
import { OPENAPI_FILE } from '../../scripts/openapi.js';
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
    const pages = [QUEUE_DASHBOARD_PATH, DEMO_PATH, API_DOCS_PATH, OPENAPI_JSON_PATH];
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
});
