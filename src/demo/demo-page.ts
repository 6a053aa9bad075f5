import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DEMO_PATH = '/demo';

// The page is built by `npm run build` into demo/dist at the repository's
// root, which is two levels up from this file in the source and three in
// dist/src.
const DEMO_DIR_CANDIDATES = ['../../demo/dist/', '../../../demo/dist/'].map((relative) =>
  fileURLToPath(new URL(relative, import.meta.url)),
);

/** Where the built demo is, or undefined when it was not built. */
export function builtDemoDir(): string | undefined {
  return DEMO_DIR_CANDIDATES.find((dir) => existsSync(`${dir}index.html`));
}

// The page loads only its own files and talks only to this server; libsodium
// compiles its WebAssembly, which needs 'wasm-unsafe-eval' (not 'unsafe-eval').
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The web demo at /demo/ (demo/: a chat page on the SDK, keys in IndexedDB).
 * Static files only; every request it makes is the public API's.
 */
export async function mountDemo(app: NestFastifyApplication, dir: string): Promise<void> {
  // In a scope of its own: Nest's register() does not pass a prefix on.
  await app.register(async (scope: FastifyInstance) => {
    // The page's files are relative to /demo/.
    scope.get(DEMO_PATH, (request, reply) => {
      const query = request.url.indexOf('?');
      return reply.redirect(`${DEMO_PATH}/${query < 0 ? '' : request.url.slice(query)}`, 301);
    });
    await scope.register(fastifyStatic, {
      root: dir,
      prefix: `${DEMO_PATH}/`,
      redirect: true,
      index: ['index.html'],
      setHeaders: (reply) => {
        reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
        reply.header('x-content-type-options', 'nosniff');
      },
    });
  });
}
