import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Logger } from '@nestjs/common';
import type { Env } from '../config/env.js';
import { Problem, problemBody } from './problem.js';
import { logRequests } from './logging.js';
import { requestIdFor } from './request-context.js';
import { sendProblem, toProblem } from './problem.filter.js';

// What happens to a request before any controller sees it: how long it may
// take to arrive, how large it may be, which bodies are parsed, and how the
// server's own refusals (bad URL, timeout, malformed HTTP) are answered.

const logger = new Logger('HttpEdge');

// Node checks for expired headers and requests on an interval (30 s unless
// told): a quarter of the shortest timeout, so a cut comes close to it.
function timeoutCheckInterval(env: Env): number {
  const shortest = Math.min(env.HTTP_HEADERS_TIMEOUT_MS, env.HTTP_REQUEST_TIMEOUT_MS);
  return Math.min(30_000, Math.max(50, Math.floor(shortest / 4)));
}

/** Options of the fastify server: timeouts, the default body limit, problem+json for its own errors. */
export function httpServerOptions(env: Env) {
  return {
    bodyLimit: env.HTTP_BODY_LIMIT_BYTES,
    // A socket silent this long is closed: one that never sends a request,
    // or whose client stopped reading an answer. WebSockets opt out (ws).
    connectionTimeout: env.HTTP_IDLE_TIMEOUT_MS,
    keepAliveTimeout: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    // The whole request, body included, must arrive in this time: a trickled
    // body cannot hold a connection.
    requestTimeout: env.HTTP_REQUEST_TIMEOUT_MS,
    http: {
      headersTimeout: env.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: env.HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: timeoutCheckInterval(env),
    },
    // The router refuses a URL that is not validly percent-encoded, or a path
    // parameter too long, before any hook runs.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) =>
      sendProblem(reply, toProblem(error, logger)),
    clientErrorHandler: answerClientError,
    // A closing process answers with a problem+json 503 and Retry-After
    // instead (prepareHttpEdge).
    return503OnClosing: false,
    // Each request's id: the client's X-Request-Id when usable, else a UUID
    // (prepareHttpEdge carries it into the work and the answer).
    genReqId: (request: IncomingMessage) => requestIdFor(request.headers['x-request-id']),
  };
}

/**
 * Node's refusals of a request that never became one (headers or body too
 * slow, headers too large, not HTTP): answered as problem+json when nothing
 * was written yet, then the socket is closed.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new Problem(408, 'request_timeout', 'Request timeout', 'The request took too long to send')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new Problem(431, 'headers_too_large', 'Headers too large', 'The headers are too large')
        : Problem.badRequest('malformed_request', 'The request is not valid HTTP');
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(problemBody(problem));
    socket.write(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * Before the routes are registered: the per-route body limits, JSON as the
 * only body type (an empty one is no body), and the connection cap.
 */
export function prepareHttpEdge(
  app: NestFastifyApplication,
  env: Env,
  bodyLimits: Record<string, number>,
): void {
  const server = app.getHttpAdapter().getInstance();
  server.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      const limit = bodyLimits[`${method} ${route.url}`];
      if (limit !== undefined) route.bodyLimit = limit;
    }
  });
  // Any other content type (text/plain included, which fastify parses by default) is a 415.
  server.removeAllContentTypeParsers();
  const parseJson = server.getDefaultJsonParser('error', 'error');
  server.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Many HTTP clients send Content-Type: application/json on a POST without a
    // body: that is no body (a route that needs one answers validation_failed).
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    // fastify's own parser (it refuses __proto__ and constructor keys); it calls done.
    void parseJson(request, body.toString(), done);
  });
  // The request id goes back in the answer (and with a send's fan-out: RequestId).
  server.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  logRequests(server, env);
  // A process shutting down still gets requests on keep-alive connections
  // (in-flight ones finish): they are answered 503 with Retry-After and the
  // connection closed, so that the client sends again, to another process.
  let closing = false;
  server.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  server.addHook('onRequest', (_request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    reply.header('connection', 'close');
    sendProblem(reply, Problem.unavailable('This process is shutting down; send again', 1));
  });
  const httpServer = app.getHttpServer();
  httpServer.maxConnections = env.HTTP_MAX_CONNECTIONS;
  // Once a minute at most: under a flood of connections, one line says why they fail.
  let warnedAt = 0;
  httpServer.on('drop', () => {
    if (Date.now() - warnedAt < 60_000) return;
    warnedAt = Date.now();
    logger.warn(
      { maxConnections: env.HTTP_MAX_CONNECTIONS },
      'HTTP_MAX_CONNECTIONS reached: new connections are closed',
    );
  });
}
