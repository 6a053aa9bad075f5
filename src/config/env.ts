import ipaddr from 'ipaddr.js';
import { z } from 'zod';

// One validated schema for the whole process. A bad value stops the boot with
// a message that names the variable; the defaults serve a local run.
const integer = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

// Names fastify's proxy-addr knows for whole address ranges.
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

const isProxyAddress = (entry: string) =>
  PROXY_RANGE_NAMES.has(entry) || ipaddr.isValid(entry) || ipaddr.isValidCIDR(entry);

// Which proxies' X-Forwarded-For entries to believe: none (false), the last
// N hops, or the hops added by these addresses. `true` would believe the
// left-most entry, which the client writes itself, so it is refused.
const trustProxy = z
  .string()
  .trim()
  .default('false')
  .transform((value, context): false | number | string[] => {
    if (value === '' || value === 'false' || value === '0') return false;
    if (/^\d+$/.test(value)) return Number(value);
    if (value === 'true') {
      context.addIssue({
        code: 'custom',
        message:
          'true would trust a client-written X-Forwarded-For; give the number of proxies in front (e.g. 1) or their addresses/CIDRs',
      });
      return z.NEVER;
    }
    const entries = value.split(',').map((entry) => entry.trim());
    const invalid = entries.filter((entry) => !isProxyAddress(entry));
    if (invalid.length > 0) {
      context.addIssue({
        code: 'custom',
        message: 'expected false, a hop count or a comma-separated list of addresses/CIDRs',
      });
      return z.NEVER;
    }
    return entries;
  });

// Which web origins may call the API from a browser (the SDK in a web app
// on its own origin): exact origins, comma-separated, or `*`. Unset: none,
// and browsers keep their same-origin rule. Safe with `*` as far as CORS
// goes, since requests carry a bearer token, never a cookie.
const corsOrigins = z
  .string()
  .trim()
  .default('')
  .transform((value, context): string[] | '*' => {
    if (value === '') return [];
    if (value === '*') return '*';
    const origins = value.split(',').map((entry) => entry.trim());
    const invalid = origins.filter(
      (origin) => !URL.canParse(origin) || new URL(origin).origin !== origin,
    );
    if (invalid.length > 0) {
      context.addIssue({
        code: 'custom',
        message: 'expected *, or origins such as https://app.example.com, comma-separated',
      });
      return z.NEVER;
    }
    return origins;
  });

// An empty variable counts as unset (as env files and compose often leave them).
const unsetIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** A comma-separated list (blanks around items ignored; unset: empty), each item checked by `item`. */
const commaSeparated = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .pipe(z.array(item));

const envSchema = z
  .object({
    DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/supernode'),
    REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
    // A Redis Cluster instead (docs/scale-out.md): some of its nodes, as
    // comma-separated redis:// URLs; the rest are found from them. Set, it
    // wins over REDIS_URL.
    REDIS_CLUSTER_NODES: commaSeparated(z.url({ protocol: /^redis$/ })),
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
    TRUST_PROXY: trustProxy,
    CORS_ORIGINS: corsOrigins,
    // The web demo at /demo (static files; every request it makes is the public API's).
    SERVE_DEMO: z
      .enum(['true', 'false'])
      .default('true')
      .transform((value) => value === 'true'),
    // Traces over OTLP/HTTP (JSON) to this collector: the OpenTelemetry
    // SDK's own variables (OTEL_SERVICE_NAME, OTEL_BSP_* apply too). Unset:
    // no tracing, and its SDK is not loaded (docs/operations.md).
    OTEL_EXPORTER_OTLP_ENDPOINT: unsetIfEmpty(z.url({ protocol: /^https?$/ })),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: unsetIfEmpty(z.url({ protocol: /^https?$/ })),
    // /metrics on its own small server (off the public port) and/or behind a
    // bearer token; with neither it is served openly on the public port.
    METRICS_PORT: unsetIfEmpty(z.coerce.number().int().min(0).max(65535)),
    METRICS_HOST: z.string().default('127.0.0.1'),
    METRICS_TOKEN: unsetIfEmpty(z.string().min(16)),

    MAX_BODY_BYTES: integer(256 * 1024, 1),
    DEFAULT_TTL_SECONDS: integer(7 * 24 * 3600, 1),
    MAX_TTL_SECONDS: integer(30 * 24 * 3600, 1),
    MAX_DEVICES_PER_ACCOUNT: integer(10, 1),
    // What one device may hold pending: a send to a full device is accepted
    // for the others and answers `undelivered: queue_full` (docs/retention.md).
    MAX_PENDING_MESSAGES_PER_DEVICE: integer(50_000, 1),
    MAX_PENDING_BYTES_PER_DEVICE: integer(512 * 1024 * 1024, 1024),
    MAX_CONVERSATION_MEMBERS: integer(1000, 2),
    TOKEN_TTL_SECONDS: integer(30 * 24 * 3600, 60),
    CHALLENGE_TTL_SECONDS: integer(60, 5),
    LINK_CODE_TTL_SECONDS: integer(600, 30),

    // Fixed-window rate limits, counted in Redis so they hold across processes.
    RATE_LIMIT_WINDOW_SECONDS: integer(60, 1),
    RATE_LIMIT_ACCOUNT_CREATE: integer(20, 1),
    RATE_LIMIT_AUTH: integer(60, 1),
    RATE_LIMIT_SEND_PER_DEVICE: integer(6000, 1),
    // Per account: far above what a person does by hand, low enough that
    // walking the handle space or spamming invitations takes forever.
    RATE_LIMIT_LINK_CODES: integer(10, 1),
    RATE_LIMIT_CONVERSATIONS: integer(30, 1),
    RATE_LIMIT_MEMBER_ADDS: integer(120, 1),
    RATE_LIMIT_DIRECTORY: integer(300, 1),
    // Per account: stream upgrades, and ack calls (stream ack frames and
    // POST /v1/inbox/ack, counted per frame or request, not per id). The SDK
    // sends an ack frame every few milliseconds while it catches up.
    RATE_LIMIT_STREAM_CONNECT: integer(120, 1),
    RATE_LIMIT_ACK: integer(200_000, 1),
    // Urgent sends (high-urgency pushes, never throttled) per sender account
    // and recipient (account or conversation): enough to ring and ring again.
    RATE_LIMIT_URGENT_PER_PAIR: integer(30, 1),
    // Per account: each stored subscription costs a DNS look-up of its host.
    RATE_LIMIT_PUSH_SUBSCRIPTIONS: integer(30, 1),
    // Per account: TURN credentials (a client asks once per call).
    RATE_LIMIT_TURN_CREDENTIALS: integer(60, 1),

    PURGE_INTERVAL_SECONDS: integer(60, 1),
    // How often what expired is recorded (senders hear of what expired unread).
    EXPIRY_INTERVAL_SECONDS: integer(10, 1),
    // A device not seen for this long is unlinked (its pending messages
    // dropped); an account left with no device is deleted. Checked hourly.
    IDLE_DEVICE_DAYS: integer(180, 1),
    IDLE_CHECK_INTERVAL_SECONDS: integer(3600, 1),
    // How often an open stream counts as its device being seen (last_seen_at).
    STREAM_LAST_SEEN_SECONDS: integer(3600, 1),
    PURGE_BATCH_SIZE: integer(5000, 1),
    RECONCILE_INTERVAL_SECONDS: integer(10, 1),
    // Pings on every socket and refreshes presence; a socket silent for two
    // intervals is dropped, and presence expires after three.
    WS_HEARTBEAT_SECONDS: integer(25, 1),
    // Memory of live delivery (docs/protocol.md, "Limits"): a catch-up or inbox
    // page holds at most PAGE_MAX_BYTES of ciphertext (as base64), a socket
    // stops getting frames while STREAM_BUFFER_BYTES wait to be written to it.
    PAGE_MAX_BYTES: integer(4 * 1024 * 1024, 64 * 1024),
    STREAM_BUFFER_BYTES: integer(4 * 1024 * 1024, 64 * 1024),
    // Opening one more stream for a device closes its oldest (4409).
    MAX_STREAMS_PER_DEVICE: integer(3, 1),
    // Past it, upgrades get 503 with Retry-After. Below HTTP_MAX_CONNECTIONS,
    // so that a process full of streams still answers HTTP requests.
    MAX_STREAMS_PER_PROCESS: integer(24_000, 1),
    FANOUT_CONCURRENCY: integer(32, 1),
    // Fan-out attempts before a job fails; the reconciler then retries the
    // message under a fresh job id.
    FANOUT_ATTEMPTS: integer(8, 1),

    // Web Push (docs/push.md). Without both keys, a pair is generated once and
    // kept in PostgreSQL. The subject is a contact for push services (RFC 8292).
    VAPID_PUBLIC_KEY: unsetIfEmpty(z.string().regex(/^[A-Za-z0-9_-]{87}$/)),
    VAPID_PRIVATE_KEY: unsetIfEmpty(z.string().regex(/^[A-Za-z0-9_-]{43}$/)),
    VAPID_SUBJECT: z
      .string()
      .regex(/^(mailto:|https:\/\/)\S+$/)
      .default('mailto:operator@supernode.invalid'),
    // At most one normal-urgency push per sleeping device this often.
    PUSH_MIN_INTERVAL_SECONDS: integer(60, 1),
    // Hosts whose endpoints may resolve to loopback, private or link-local
    // addresses (comma-separated); every other such endpoint is refused.
    PUSH_ALLOWED_HOSTS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((host) => host.trim().toLowerCase())
          .filter((host) => host !== ''),
      ),
    PUSH_TIMEOUT_MS: integer(5000, 100),
    PUSH_MAX_RESPONSE_BYTES: integer(16 * 1024, 1024),
    PUSH_ATTEMPTS: integer(6, 1),
    PUSH_CONCURRENCY: integer(16, 1),

    // TURN for calls (docs/calls.md): the servers' URLs (comma-separated turn:,
    // turns: or stun: URIs) and the secret shared with them (coturn's
    // static-auth-secret). Unset: GET /v1/calls/turn answers 503.
    TURN_URLS: commaSeparated(
      z.string().regex(/^(turns?|stuns?):\S+$/, 'a turn:, turns: or stun: URI'),
    ),
    TURN_SECRET: unsetIfEmpty(z.string().min(16)),
    TURN_CREDENTIAL_TTL_SECONDS: integer(24 * 3600, 60),

    // The key that wraps the day keys sealing ciphertext at rest (docs/retention.md):
    // 32 bytes, base64. Unset, one is generated and kept in PostgreSQL, with a warning.
    AT_REST_MASTER_KEY: unsetIfEmpty(
      z
        .string()
        .transform((value) => Buffer.from(value, 'base64'))
        .refine((key) => key.length === 32, '32 bytes in base64 (e.g. openssl rand -base64 32)'),
    ),

    // PostgreSQL cancels any statement of the server's pool running longer
    // (the purge's maintenance excepted); the request gets a 503.
    DATABASE_STATEMENT_TIMEOUT_MS: integer(10_000, 100),
    // Each process's PostgreSQL connections at most (docs/scale-out.md: the
    // fleet's sum must fit max_connections).
    DATABASE_POOL_MAX: integer(20, 1),
    // Sends waiting for the database beyond this many are refused with 503 at
    // once rather than queued in memory while PostgreSQL is slow.
    INGEST_QUEUE_LIMIT: integer(1000, 1),
  })
  .refine((env) => (env.VAPID_PUBLIC_KEY === undefined) === (env.VAPID_PRIVATE_KEY === undefined), {
    path: ['VAPID_PRIVATE_KEY'],
    message: 'set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY together, or neither',
  })
  .refine((env) => (env.TURN_URLS.length === 0) === (env.TURN_SECRET === undefined), {
    path: ['TURN_SECRET'],
    message: 'set TURN_URLS and TURN_SECRET together, or neither',
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

/** Whether traces are exported (an OTLP endpoint is configured). */
export const tracingOn = (env: Env): boolean =>
  env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined ||
  env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined;
