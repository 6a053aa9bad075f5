import { RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type pino from 'pino';
import { ENV, type Env } from '../config/env.js';
import { currentRequestId } from './request-context.js';

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

/** The path of a URL without its query (the stream's may carry a token). */
const pathOnly = (url: string | undefined): string | undefined => url?.split('?')[0];

/**
 * JSON logs through pino (nestjs-pino), one line per event with its fields;
 * pretty, one line each, when written to a terminal. Every line of work that
 * stems from a request carries its `requestId` (request-context.ts). Requests
 * are logged at debug when they succeed, info when refused, error on a 5xx.
 */
export const LoggingModule = LoggerModule.forRootAsync({
  inject: [ENV],
  useFactory: (env: Env) => ({
    // Every route (nestjs-pino's own default matched none of Nest's here).
    forRoutes: [{ path: '*path', method: RequestMethod.ALL }],
    pinoHttp: {
      level: PINO_LEVELS[env.LOG_LEVEL],
      // The id fastify gave the request (X-Request-Id or a fresh UUID).
      genReqId: (request: IncomingMessage) => (request as IncomingMessage & { id: string }).id,
      // A request's own logger has it bound already; other work (a job, a
      // routed message) gets it from the request context.
      customAttributeKeys: { reqId: 'requestId' },
      mixin: (_fields: object, _level: number, logger: Pick<pino.Logger, 'bindings'>) => {
        const requestId = currentRequestId();
        return requestId && !('requestId' in logger.bindings()) ? { requestId } : {};
      },
      redact: { paths: REDACTED_FIELDS, censor: '[redacted]' },
      // Method, path and status only: no headers, no query, no body.
      serializers: {
        req: (request: IncomingMessage & { id?: string }) => ({
          id: request.id,
          method: request.method,
          path: pathOnly(request.url),
        }),
        res: (response: ServerResponse) => ({ statusCode: response.statusCode }),
      },
      customLogLevel: (_request: IncomingMessage, response: ServerResponse, error?: Error) =>
        error || response.statusCode >= 500
          ? 'error'
          : response.statusCode >= 400
            ? 'info'
            : 'debug',
      // Probes and scrapes would drown the rest.
      autoLogging: {
        ignore: (request: IncomingMessage & { originalUrl?: string }) =>
          /^\/(health|metrics)\b/.test(request.originalUrl ?? request.url ?? ''),
      },
      quietReqLogger: true,
      transport: process.stdout.isTTY
        ? {
            target: 'pino-pretty',
            options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          }
        : undefined,
    },
  }),
});
