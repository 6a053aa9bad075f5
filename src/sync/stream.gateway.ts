import { describeError } from '../common/describe-error.js';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleInit,
  BeforeApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { AfterCommitWork } from '../common/after-commit.js';
import { debugLogging } from '../common/logging.js';
import { Problem } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';
import { PresenceService } from '../directory/presence.service.js';
import { RateLimiter } from '../rate-limit/rate-limiter.js';
import {
  type AuthenticatedDevice,
  AuthService,
  type TokenSession,
} from '../identity/auth.service.js';
import { DeviceLifecycle } from '../identity/device-lifecycle.js';
import { type AcceptedEvent, MessageEvents } from '../messages/message-events.js';
import { EphemeralSendService } from '../messages/ephemeral-send.service.js';
import { inboxMessageView } from '../messages/inbox-message.view.js';
import { InboxService } from '../messages/inbox.service.js';
import { NoticeNumbers } from '../messages/notice-numbers.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { WakeupService } from '../push/wakeup.service.js';
import {
  DEVICE_ROUTER,
  type DeviceRouter,
  type RoutedEvent,
  type RoutedMessage,
} from './device-router.js';
import { carryTrace, inCarriedSpan, type TraceCarrier } from '../telemetry/trace-context.js';
import { countAck } from './ack-rate-limit.js';
import { LiveRoutingService } from './live-routing.service.js';
import {
  closeSoon,
  type FrameTransport,
  type LiveCopy,
  StreamConnection,
  type StreamDependencies,
  type StreamLimits,
} from './stream-connection.js';
import {
  type ErrorFrame,
  type ExpiredFrame,
  messageFrameTexts,
  type ReceiptFrame,
} from './stream-frames.js';
import { checkUpgradeRequest, refusalResponse, type UpgradeRefusal } from './upgrade-request.js';

// Close codes: docs/protocol.md lists them all.
export const STREAM_PATH = '/v1/stream';
export const CLOSE_TOKEN_INVALID = 4401;
export const CLOSE_REVOKED = 4403;
export const CLOSE_REPLACED = 4409;
export const CLOSE_RATE_LIMITED = 4429;
const CLOSE_UNAVAILABLE = 1013; // "try again later"
// The largest frame a client needs: an ack of 1,000 ids is some 39 KB of JSON.
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
// The heartbeat's check of tokens and devices reads this many sockets' per statement.
const SESSION_CHECK_BATCH = 5000;

/**
 * GET /v1/stream: a plain WebSocket (JSON text frames) that any language can
 * speak. Holds this process's connections, receives routed events for them,
 * pings them and keeps their presence fresh.
 */
@Injectable()
export class StreamGateway
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger(StreamGateway.name);
  private readonly server = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
  });
  // Per device, oldest first. Arrays of their exact length, replaced rather
  // than grown: held per idle device, in a fraction of a Set's memory (a
  // pushed, spread or filtered array reserves room for 17; concat does not).
  private readonly connections = new Map<string, StreamConnection[]>();
  // Each socket's token hash (its device is the connection's), checked again at every heartbeat.
  private readonly tokenHashes = new Map<StreamConnection, string>();
  // One of each for all the process's sockets, not a set of closures per
  // socket: tens of thousands of idle streams each carried its own.
  private readonly streamLimits: StreamLimits;
  private readonly streamDependencies: StreamDependencies = {
    pendingAfter: (deviceId, afterSeq, limit) => this.inbox.pendingAfter(deviceId, afterSeq, limit),
    pendingByIds: (deviceId, messageIds) => this.inbox.pendingByIds(deviceId, messageIds),
    lastNotice: (deviceId) => this.noticeNumbers.last(deviceId),
    ack: async (device, messageIds, keys) => {
      // Counted per frame, not per id: one frame carries up to 1,000.
      await countAck(this.rateLimiter, this.env, device.accountId);
      return this.inbox.ack(device.deviceId, messageIds, keys);
    },
    // The message stays pending in PostgreSQL: the next notification or
    // catch-up sends it; an ack that failed is the client's to send again.
    onError: (error, during) =>
      this.logger.warn({ during, error: describeError(error) }, 'stream work failed'),
    // Its last acks and its wake-up check finish before a shutdown closes the pool.
    onClosed: (connection) => void this.afterCommit.track(this.closed(connection)),
  };
  // Upgrades being authenticated: they count against the process's cap too.
  private upgrading = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastSeenTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: AuthService,
    private readonly inbox: InboxService,
    private readonly events: MessageEvents,
    private readonly noticeNumbers: NoticeNumbers,
    private readonly presence: PresenceService,
    private readonly routing: LiveRoutingService,
    private readonly lifecycle: DeviceLifecycle,
    private readonly metrics: MetricsService,
    private readonly wakeups: WakeupService,
    private readonly ephemeralSends: EphemeralSendService,
    private readonly rateLimiter: RateLimiter,
    private readonly afterCommit: AfterCommitWork,
    @Inject(DEVICE_ROUTER) private readonly router: DeviceRouter,
    @Inject(ENV) private readonly env: Env,
  ) {
    this.streamLimits = { bufferBytes: env.STREAM_BUFFER_BYTES };
  }

  onModuleInit(): void {
    // A device coming back waits for its first page: no connection plans it then.
    this.inbox.planPageReadOnNewConnections();
  }

  async onApplicationBootstrap(): Promise<void> {
    const httpServer = this.adapterHost.httpAdapter.getHttpServer() as Server;
    httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket, head).catch((error: unknown) => {
        // Nothing a client sends may end the process: whatever was missed is a 500 here.
        this.logger.warn({ error: describeError(error) }, 'stream upgrade failed');
        refuse(socket, {
          ok: false,
          status: 500,
          code: 'internal_error',
          detail: 'The upgrade failed',
        });
      });
    });
    this.lifecycle.onRevokedAfterCommit(async (device) => {
      // Sockets held here close at once; the others hear of it through Redis,
      // or at their next heartbeat if that notice is lost.
      this.closeDevice(device.deviceId, CLOSE_REVOKED, 'device_revoked');
      await this.routing.broadcastRevoked(device.deviceId);
      // Whichever process held it: a revoked device is online nowhere.
      await this.presence.forget(device.deviceId);
    });
    // A message accepted here goes to the sockets held here at once, without
    // waiting for the fan-out's round trips; a job's routed notice for them
    // (when another device of the message is elsewhere) comes later and then
    // costs nothing (already sent).
    this.events.onAccepted((accepted) => this.notifyAccepted(accepted, carryTrace()));
    this.ephemeralSends.deliverWith((message) => this.routing.routeEphemeral(message));
    await this.router.listen(this.presence.processId, (event) => this.onRouted(event));
    this.heartbeat = setInterval(() => void this.beat(), this.env.WS_HEARTBEAT_SECONDS * 1000);
    this.heartbeat.unref();
    // A device that holds a stream for months is seen all along (the idle-device rule).
    this.lastSeenTimer = setInterval(
      () => void this.markHeldDevicesSeen(),
      this.env.STREAM_LAST_SEEN_SECONDS * 1000,
    );
    this.lastSeenTimer.unref();
  }

  // Before the HTTP server closes: it waits for every socket, upgraded ones included.
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.lastSeenTimer);
    const sockets = [...this.allConnections()].map((connection) => connection.socket);
    for (const socket of sockets) socket.close(1001, 'server shutting down');
    // A client that does not answer the close handshake is cut off.
    await new Promise((resolve) => setTimeout(resolve, sockets.length > 0 ? 200 : 0));
    for (const socket of sockets) socket.terminate();
    await this.router.close();
  }

  /** How many sockets this process holds (metrics, tests). */
  get connectionCount(): number {
    let total = 0;
    for (const held of this.connections.values()) total += held.length;
    return total;
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Node hands the socket over with no 'error' listener: a reset while the
    // token is checked would otherwise be an uncaught error event.
    socket.on('error', destroySocket);
    const checked = checkUpgradeRequest(STREAM_PATH, request.method, request.url, request.headers);
    if (!checked.ok) return refuse(socket, checked);
    // Counted until their sockets close (a replaced one lingers a moment).
    if (this.tokenHashes.size + this.upgrading >= this.env.MAX_STREAMS_PER_PROCESS) {
      this.logger.warn('stream refused: this process holds its maximum of streams');
      return refuse(socket, {
        ok: false,
        status: 503,
        code: 'service_unavailable',
        detail: 'This server holds all the streams it can; try again later',
        headers: { 'Retry-After': String(this.env.WS_HEARTBEAT_SECONDS) },
      });
    }
    this.upgrading++;
    let admitted: Admission;
    try {
      admitted = await this.admit(checked.token);
    } finally {
      this.upgrading--;
    }
    // The upgrade completes either way, so that every client can read the close code.
    this.server.handleUpgrade(request, socket, head, (socketOpened) => {
      if (admitted.kind === 'open') {
        forgetStoppedTimer(socket);
        void this.open(socketOpened, admitted, socket);
      } else {
        if (admitted.frame) socketOpened.send(JSON.stringify(admitted.frame));
        closeSoon(socketOpened, admitted.code, admitted.reason);
      }
    });
  }

  /** Whether a token may open a stream now: its device, or the close code that refuses it. */
  private async admit(token: string | undefined): Promise<Admission> {
    let authenticated: { device: AuthenticatedDevice; session: TokenSession };
    try {
      authenticated = await this.auth.authenticateSession(token);
    } catch (error) {
      if (error instanceof Problem && error.status === 401)
        return { kind: 'refused', code: CLOSE_TOKEN_INVALID, reason: 'token_invalid' };
      return { kind: 'refused', code: CLOSE_UNAVAILABLE, reason: 'unavailable' };
    }
    try {
      await this.rateLimiter.hit(
        'stream-connect',
        authenticated.device.accountId,
        this.env.RATE_LIMIT_STREAM_CONNECT,
        this.env.RATE_LIMIT_WINDOW_SECONDS,
      );
    } catch (error) {
      if (!(error instanceof Problem && error.status === 429))
        return { kind: 'refused', code: CLOSE_UNAVAILABLE, reason: 'unavailable' };
      const retryAfter = Number(error.headers['Retry-After']);
      return {
        kind: 'refused',
        code: CLOSE_RATE_LIMITED,
        reason: 'rate_limited',
        // Before the close: a client reads how long to wait.
        frame: {
          type: 'error',
          code: 'rate_limited',
          detail: error.detail ?? 'Too many stream connections; wait before the next',
          retryAfter,
        },
      };
    }
    return { kind: 'open', ...authenticated };
  }

  private async open(
    socket: WebSocket,
    { device, session }: { device: AuthenticatedDevice; session: TokenSession },
    transport: FrameTransport,
  ): Promise<void> {
    const connection = new StreamConnection(
      socket,
      device,
      this.streamDependencies,
      transport,
      this.streamLimits,
    );
    const local = (this.connections.get(device.deviceId) ?? []).concat(connection);
    // One stream too many for this device: its oldest makes room.
    const replaced = local.splice(0, local.length - this.env.MAX_STREAMS_PER_DEVICE);
    this.connections.set(device.deviceId, local);
    this.tokenHashes.set(connection, session.tokenHash);
    this.metrics.streamConnections.inc();
    socket.on('error', terminateSocket);
    for (const oldest of replaced) closeSoon(oldest.socket, CLOSE_REPLACED, 'replaced');
    try {
      // Presence first, then the backlog: a message committed after the backlog
      // query started is routed here live, so nothing falls between the two.
      // The token is checked again now that the socket is registered: a
      // revocation that committed after the first check and before the
      // registration had no socket here to close.
      const [state] = await Promise.all([
        this.auth.sessionStates([session]),
        this.presence.markOnline(device.deviceId),
      ]);
      if (state[0] !== 'live') {
        this.endSession(connection, state[0]);
        return;
      }
      // Connected: it needs no wake-up push for what it is about to receive.
      await this.wakeups.clear(device.deviceId);
      await connection.catchUp();
    } catch (error) {
      this.logger.warn({ error: describeError(error) }, 'stream open failed');
      closeSoon(socket, CLOSE_UNAVAILABLE, 'unavailable');
    }
  }

  /** Closes a socket whose token expired (4401) or whose device was revoked (4403). */
  private endSession(connection: StreamConnection, state: 'revoked' | 'expired'): void {
    if (state === 'revoked') closeSoon(connection.socket, CLOSE_REVOKED, 'device_revoked');
    else closeSoon(connection.socket, CLOSE_TOKEN_INVALID, 'token_expired');
  }

  private closeDevice(deviceId: string, code: number, reason: string): void {
    for (const connection of this.connections.get(deviceId) ?? [])
      closeSoon(connection.socket, code, reason);
  }

  private async closed(connection: StreamConnection): Promise<void> {
    this.tokenHashes.delete(connection);
    const deviceId = connection.device.deviceId;
    const held = this.connections.get(deviceId) ?? [];
    this.metrics.streamConnections.dec();
    const index = held.indexOf(connection);
    // Not there when a newer stream of its device replaced it.
    if (index < 0) return;
    const others = held.slice(0, index).concat(held.slice(index + 1));
    if (others.length > 0) {
      this.connections.set(deviceId, others);
      return;
    }
    this.connections.delete(deviceId);
    await this.presence.markOffline(deviceId).catch(() => undefined);
    // The acks sent just before the close count: they were the client's last word.
    await connection.framesHandled();
    // A message routed here after a presence read that still saw this
    // socket is caught here: every presence read follows its message's
    // commit, and this check follows the presence mark's removal.
    await this.wakeups
      .requestIfPending(deviceId)
      .catch((error: Error) =>
        this.logger.warn({ error: describeError(error) }, 'wake-up not requested'),
      );
  }

  private onRouted(event: RoutedEvent): void {
    try {
      if (event.kind === 'revoked') {
        this.closeDevice(event.deviceId, CLOSE_REVOKED, 'device_revoked');
        return;
      }
      if (event.kind === 'expired') {
        for (const { messageId, expiredDeviceIds, deviceIds } of event.expired) {
          const frame: ExpiredFrame = { type: 'expired', messageId, deviceIds: expiredDeviceIds };
          for (const connection of this.connectionsOf(deviceIds)) connection.sendFrame(frame);
        }
        return;
      }
      if (event.kind === 'ephemeral') {
        const frameText = messageFrameTexts({
          type: 'message',
          ephemeral: true,
          message: { ...event.message, wrappedKey: '' },
        });
        for (const [deviceId, wrappedKey] of Object.entries(event.wrappedKeys)) {
          const text = frameText(wrappedKey);
          for (const connection of this.connectionsOf([deviceId])) connection.sendEphemeral(text);
        }
        return;
      }
      if (event.kind === 'receipts') {
        for (const { messageId, ackedByDeviceId, deviceIds } of event.receipts) {
          const frame: ReceiptFrame = { type: 'receipt', messageId, deviceId: ackedByDeviceId };
          for (const connection of this.connectionsOf(deviceIds)) connection.sendReceipt(frame);
        }
        return;
      }
      for (const message of event.messages) this.notifyAccepted(message, message.trace);
      this.wakeDevicesGone(event.messages);
    } catch (error) {
      // The message stays pending in PostgreSQL: the device gets it on its next catch-up.
      this.logger.warn(
        { kind: event.kind, error: describeError(error) },
        'routed event not delivered',
      );
    }
  }

  /**
   * Devices that presence placed here but whose socket closed before the
   * routed message came: they get the wake-up push that the router's
   * presence read denied them.
   */
  private wakeDevicesGone(messages: RoutedMessage[]): void {
    this.afterCommit
      .track(
        this.wakeups.requestForMessages(messages, (deviceId) => !this.connections.has(deviceId)),
      )
      .catch((error: Error) =>
        this.logger.warn({ error: describeError(error) }, 'wake-up not requested'),
      );
  }

  /**
   * Tells the sockets held here of an accepted message: with its copy when it
   * was accepted here. With tracing on, in a span of the send's trace.
   */
  private notifyAccepted(
    { messageId, deviceIds, notices, copyFor, requestId }: AcceptedEvent,
    trace: TraceCarrier | undefined,
  ): void {
    if (!deviceIds.some((deviceId) => this.connections.has(deviceId))) return;
    let streams = 0;
    let frameTextFor: ((wrappedKey: string) => string) | undefined;
    inCarriedSpan('stream: message frames', trace, { 'supernode.message_id': messageId }, () => {
      deviceIds.forEach((deviceId, index) => {
        const connections = this.connections.get(deviceId);
        if (!connections) return;
        const notice = notices?.[index];
        let live: LiveCopy | undefined;
        if (notice && copyFor) {
          const message = copyFor(deviceId);
          frameTextFor ??= messageFrameTexts({
            type: 'message',
            message: inboxMessageView(message),
          });
          live = { notice, message, frameText: frameTextFor(message.wrappedKey) };
        }
        for (const connection of connections) connection.notify(messageId, live);
        streams += connections.length;
      });
    });
    // Per accepted message: the line is built only when it is written.
    if (streams > 0 && debugLogging(this.env))
      this.logger.debug(
        { requestId, messageId, streams, live: Boolean(copyFor) },
        'message frames sent',
      );
  }

  /**
   * Drops sockets that missed a ping, pings the rest, closes those whose
   * device was revoked or token expired (even if no notice came), renews
   * presence, and re-syncs devices whose presence was lost.
   */
  private async beat(): Promise<void> {
    await Promise.all([this.checkSessions(), this.beatPresence()]);
  }

  /** Every socket's device and token, checked in batched statements: revoked → 4403, expired → 4401. */
  private async checkSessions(): Promise<void> {
    const held = [...this.tokenHashes];
    for (let start = 0; start < held.length; start += SESSION_CHECK_BATCH) {
      const batch = held.slice(start, start + SESSION_CHECK_BATCH);
      try {
        const states = await this.auth.sessionStates(
          batch.map(([connection, tokenHash]) => ({
            deviceId: connection.device.deviceId,
            tokenHash,
          })),
        );
        batch.forEach(([connection], index) => {
          const state = states[index];
          if (state !== 'live') this.endSession(connection, state);
        });
      } catch (error) {
        this.logger.warn({ error: describeError(error) }, 'session check failed');
      }
    }
  }

  private async beatPresence(): Promise<void> {
    for (const connection of this.allConnections()) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
    try {
      const lost = await this.presence.refresh([...this.connections.keys()]);
      for (const deviceId of lost) {
        for (const connection of this.connections.get(deviceId) ?? []) connection.resync();
      }
    } catch (error) {
      this.logger.warn({ error: describeError(error) }, 'presence refresh failed');
    }
  }

  private async markHeldDevicesSeen(): Promise<void> {
    const held = [...this.connections.keys()];
    try {
      for (let start = 0; start < held.length; start += SESSION_CHECK_BATCH)
        await this.auth.markSeen(held.slice(start, start + SESSION_CHECK_BATCH));
    } catch (error) {
      this.logger.warn({ error: describeError(error) }, 'last-seen refresh failed');
    }
  }

  /** The sockets held here of these devices. */
  private *connectionsOf(deviceIds: Iterable<string>): Generator<StreamConnection> {
    for (const deviceId of deviceIds) yield* this.connections.get(deviceId) ?? [];
  }

  private *allConnections(): Generator<StreamConnection> {
    for (const held of this.connections.values()) yield* held;
  }
}

type Admission =
  | { kind: 'open'; device: AuthenticatedDevice; session: TokenSession }
  | { kind: 'refused'; code: number; reason: string; frame?: ErrorFrame };

// The sockets' error listeners, one function for all: a closure per socket
// would keep its maker's variables (the token check's result, the
// connection) in memory for as long as the stream stays open.
function destroySocket(this: Duplex): void {
  this.destroy();
}

function terminateSocket(this: WebSocket): void {
  this.terminate();
}

/**
 * Node's HTTP server gives each connection an idle timer (fastify's
 * connectionTimeout) and ws stops it on upgrade (`setTimeout(0)`), but the
 * socket keeps the stopped timer and its bound callback for as long as it is
 * open: about a twentieth of an idle stream's heap (bench idle-sockets). Node
 * keeps it under a private symbol, null until a timer is set; where that
 * symbol is not found, nothing changes.
 */
function forgetStoppedTimer(socket: Duplex): void {
  if ((socket as Duplex & { timeout?: number }).timeout !== 0) return;
  const timer = Object.getOwnPropertySymbols(socket).find(
    (symbol) => symbol.description === 'timeout',
  );
  if (timer) Reflect.set(socket, timer, null);
}

function refuse(socket: Duplex, refused: UpgradeRefusal): void {
  if (socket.destroyed) return;
  socket.end(refusalResponse(refused), () => socket.destroy());
}
