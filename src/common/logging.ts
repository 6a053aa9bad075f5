import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { LoggerModule } from 'nestjs-pino';
import { ENV, type Env } from '../config/env.js';

// LOG_LEVEL speaks Nest's names; pino has its own.
const PINO_LEVELS: Record<Env['LOG_LEVEL'], string> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Fields that may hold a secret or a message, wherever a log call puts them:
 * written as [redacted]. Log calls pass ids and counts only; this is the net
 * under them (and under a library's error that carries a request).
 */
export const REDACTED_FIELDS = [
  'authorization',
  'token',
  'body',
  'wrappedKey',
  'wrappedKeys',
  'privateKey',
  'signature',
].flatMap((field) => [field, `*.${field}`]);

/**
 * JSON logs through pino (nestjs-pino), one line per event with its fields;
 * pretty, one line each, when written to a terminal. A request's own line,
 * and those of a send's fan-out and frames, carry its `requestId`.
 *
 * nestjs-pino's per-request middleware (pino-http: a child logger, a context
 * and a listener for every request) is not used: measured side by side
 * with the benchmark (npm run bench:ab), it slowed the send path. Requests
 * are logged by logRequests below instead.
 */
export const LoggingModule = LoggerModule.forRootAsync({
  inject: [ENV],
  useFactory: (env: Env) => ({
    // No route gets the middleware.
    forRoutes: [],
    pinoHttp: {
      level: PINO_LEVELS[env.LOG_LEVEL],
      redact: { paths: REDACTED_FIELDS, censor: '[redacted]' },
      transport: process.stdout.isTTY
        ? {
            target: 'pino-pretty',
            options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          }
        : undefined,
    },
  }),
});

/**
 * Whether debug lines are written. Hot paths (every request, every message)
 * check it before building a debug line's fields at all.
 */
export const debugLogging = (env: Env): boolean =>
  env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'verbose';

// Probes and scrapes would drown the rest.
const UNLOGGED_PATHS = /^\/(health|metrics)\b/;

/**
 * One line per finished request (`request completed`: method, path without
 * its query, status, time): at debug when it succeeded, info when refused,
 * error on a 5xx. Successes cost nothing unless LOG_LEVEL is debug or verbose.
 */
export function logRequests(server: FastifyInstance, env: Env): void {
  const logger = new Logger('HTTP');
  const successesLogged = debugLogging(env);
  server.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    if ((status < 400 && !successesLogged) || UNLOGGED_PATHS.test(request.url)) return done();
    const fields = {
      requestId: request.id,
      method: request.method,
      path: request.url.split('?')[0],
      statusCode: status,
      responseTime: Math.round(reply.elapsedTime),
    };
    if (status >= 500) logger.error(fields, 'request completed');
    else if (status >= 400) logger.log(fields, 'request completed');
    else logger.debug(fields, 'request completed');
    done();
  });
}
