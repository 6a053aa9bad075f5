import { z } from 'zod';

// One validated schema for the whole process. A bad value stops the boot with
// a message that names the variable; the defaults serve a local run.
const integer = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

const envSchema = z.object({
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/supernode'),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  // Prefix for every Redis key (BullMQ and ours): lets tests and several
  // deployments share one Redis without seeing each other.
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/)
    .default('sn'),
  PORT: integer(3000).pipe(z.number().max(65535)),
  HOST: z.string().default('0.0.0.0'),
  // The HTTP edge: how long a client may take to send a request, how long an
  // idle connection is kept, how many sockets (WebSockets included) a process
  // holds, and the body limit of routes that carry no message.
  HTTP_HEADERS_TIMEOUT_MS: integer(10_000, 1),
  HTTP_REQUEST_TIMEOUT_MS: integer(60_000, 1),
  HTTP_IDLE_TIMEOUT_MS: integer(30_000, 1),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(72_000, 1),
  HTTP_MAX_CONNECTIONS: integer(25_000, 1),
  HTTP_BODY_LIMIT_BYTES: integer(64 * 1024, 1024),
  ROLE: z.enum(['api', 'worker', 'all']).default('all'),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  TRUST_PROXY: z.stringbool().default(false),

  MAX_BODY_BYTES: integer(256 * 1024, 1),
  DEFAULT_TTL_SECONDS: integer(7 * 24 * 3600, 1),
  MAX_TTL_SECONDS: integer(30 * 24 * 3600, 1),
  MAX_DEVICES_PER_ACCOUNT: integer(10, 1),
  MAX_CONVERSATION_MEMBERS: integer(1000, 2),
  TOKEN_TTL_SECONDS: integer(30 * 24 * 3600, 60),
  CHALLENGE_TTL_SECONDS: integer(60, 5),
  LINK_CODE_TTL_SECONDS: integer(600, 30),

  // Fixed-window rate limits, counted in Redis so they hold across processes.
  RATE_LIMIT_WINDOW_SECONDS: integer(60, 1),
  RATE_LIMIT_ACCOUNT_CREATE: integer(20, 1),
  RATE_LIMIT_AUTH: integer(60, 1),
  RATE_LIMIT_SEND_PER_DEVICE: integer(6000, 1),

  PURGE_INTERVAL_SECONDS: integer(60, 1),
  PURGE_BATCH_SIZE: integer(5000, 1),
  RECONCILE_INTERVAL_SECONDS: integer(10, 1),
  // Pings on every socket and refreshes presence; a socket silent for two
  // intervals is dropped, and presence expires after three.
  WS_HEARTBEAT_SECONDS: integer(25, 1),
  FANOUT_CONCURRENCY: integer(32, 1),
});

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {}

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      // The value itself is not echoed: a URL may carry a password.
      (issue) => `  ${issue.path.join('.')}: ${issue.message}`,
    );
    throw new EnvError(`Invalid environment:\n${lines.join('\n')}`);
  }
  if (parsed.data.DEFAULT_TTL_SECONDS > parsed.data.MAX_TTL_SECONDS) {
    throw new EnvError(
      'Invalid environment:\n  DEFAULT_TTL_SECONDS: must not exceed MAX_TTL_SECONDS',
    );
  }
  if (parsed.data.HTTP_HEADERS_TIMEOUT_MS > parsed.data.HTTP_REQUEST_TIMEOUT_MS) {
    throw new EnvError(
      'Invalid environment:\n  HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS',
    );
  }
  return parsed.data;
}

export const ENV = Symbol('config:env');
