import { describeError } from '../common/describe-error.js';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  BeforeApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { Problem } from '../common/problem.js';
import { ENV, type Env } from '../config/env.js';
import { PresenceService } from '../directory/presence.service.js';
import { bearerToken } from '../identity/auth.guard.js';
import { type AuthenticatedDevice, AuthService } from '../identity/auth.service.js';
import { DeviceLifecycle } from '../identity/device-lifecycle.js';
import { type AcceptedEvent, MessageEvents } from '../messages/message-events.js';
import { MessagesService } from '../messages/messages.service.js';
import { NoticeNumbers } from '../messages/notice-numbers.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { WakeupService } from '../push/wakeup.service.js';
import { DEVICE_ROUTER, type DeviceRouter, type RoutedEvent } from './device-router.js';
import { LiveRoutingService } from './live-routing.service.js';
import { type FrameTransport, StreamConnection } from './stream-connection.js';

export const STREAM_PATH = '/v1/stream';
export const CLOSE_TOKEN_INVALID = 4401;
export const CLOSE_REVOKED = 4403;
const CLOSE_UNAVAILABLE = 1013; // "try again later"

/**
 * GET /v1/stream: a plain WebSocket (JSON text frames) that any language can
 * speak. Holds this process's connections, receives routed events for them,
 * pings them and keeps their presence fresh.
 */
@Injectable()
export class StreamGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(StreamGateway.name);
  private readonly server = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 1024 * 1024,
  });
  private readonly connections = new Map<string, Set<StreamConnection>>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: AuthService,
    private readonly messages: MessagesService,
    private readonly events: MessageEvents,
    private readonly noticeNumbers: NoticeNumbers,
    private readonly presence: PresenceService,
    private readonly routing: LiveRoutingService,
    private readonly lifecycle: DeviceLifecycle,
    private readonly metrics: MetricsService,
    private readonly wakeups: WakeupService,
    @Inject(DEVICE_ROUTER) private readonly router: DeviceRouter,
    @Inject(ENV) private readonly env: Env,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const httpServer = this.adapterHost.httpAdapter.getHttpServer() as Server;
    httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(request, socket, head);
    });
    this.lifecycle.onRevokedAfterCommit((device) => this.routing.broadcastRevoked(device.deviceId));
    // A message accepted here goes to the sockets held here at once, without
    // waiting for the fan-out's round trips; a job's routed notice for them
    // (when another device of the message is elsewhere) comes later and then
    // costs nothing (already sent).
    this.events.onAccepted((accepted) => this.notifyAccepted(accepted));
    await this.router.listen(this.presence.processId, (event) => this.onRouted(event));
    this.heartbeat = setInterval(() => void this.beat(), this.env.WS_HEARTBEAT_SECONDS * 1000);
    this.heartbeat.unref();
  }

  // Before the HTTP server closes: it waits for every socket, upgraded ones included.
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.heartbeat);
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
    for (const set of this.connections.values()) total += set.size;
    return total;
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== STREAM_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    let device: AuthenticatedDevice | undefined;
    let closeCode = CLOSE_TOKEN_INVALID;
    try {
      device = await this.auth.authenticate(
        bearerToken(request.headers.authorization) ?? url.searchParams.get('token') ?? undefined,
      );
    } catch (error) {
      if (!(error instanceof Problem && error.status === 401)) closeCode = CLOSE_UNAVAILABLE;
    }
    // The upgrade completes either way, so that every client can read the close code.
    this.server.handleUpgrade(request, socket, head, (socketOpened) => {
      if (!device)
        socketOpened.close(
          closeCode,
          closeCode === CLOSE_TOKEN_INVALID ? 'token_invalid' : 'unavailable',
        );
      else void this.open(socketOpened, device, socket);
    });
  }

  private async open(
    socket: WebSocket,
    device: AuthenticatedDevice,
    transport: FrameTransport,
  ): Promise<void> {
    const connection = new StreamConnection(
      socket,
      device,
      {
        pendingAfter: (deviceId, afterSeq, limit) =>
          this.messages.pendingAfter(deviceId, afterSeq, limit),
        pendingByIds: (deviceId, messageIds) => this.messages.pendingByIds(deviceId, messageIds),
        lastNotice: (deviceId) => this.noticeNumbers.last(deviceId),
        ack: (deviceId, messageIds, keys) => this.messages.ack(deviceId, messageIds, keys),
        // The message stays pending in PostgreSQL: the next notification or catch-up sends it.
        onError: (error) => this.logger.warn(`stream drain failed: ${describeError(error)}`),
      },
      transport,
    );
    const local = this.connections.get(device.deviceId) ?? new Set();
    local.add(connection);
    this.connections.set(device.deviceId, local);
    this.metrics.streamConnections.inc();
    socket.on('close', () => void this.closed(connection));
    socket.on('error', () => socket.terminate());
    try {
      // Presence first, then the backlog: a message committed after the backlog
      // query started is routed here live, so nothing falls between the two.
      await this.presence.markOnline(device.deviceId);
      // Connected: it needs no wake-up push for what it is about to receive.
      await this.wakeups.clear(device.deviceId);
      await connection.catchUp();
    } catch (error) {
      this.logger.warn(`stream open failed: ${describeError(error)}`);
      socket.close(CLOSE_UNAVAILABLE, 'unavailable');
    }
  }

  private async closed(connection: StreamConnection): Promise<void> {
    const local = this.connections.get(connection.device.deviceId);
    local?.delete(connection);
    this.metrics.streamConnections.dec();
    if (local && local.size === 0) {
      this.connections.delete(connection.device.deviceId);
      await this.presence.markOffline(connection.device.deviceId).catch(() => undefined);
    }
  }

  private onRouted(event: RoutedEvent): void {
    try {
      if (event.kind === 'revoked') {
        for (const connection of this.connections.get(event.deviceId) ?? [])
          connection.socket.close(CLOSE_REVOKED, 'device_revoked');
        return;
      }
      if (event.kind === 'receipts') {
        for (const { messageId, ackedByDeviceId, deviceIds } of event.receipts) {
          const frame = { type: 'receipt', messageId, deviceId: ackedByDeviceId };
          for (const deviceId of deviceIds)
            for (const connection of this.connections.get(deviceId) ?? [])
              connection.sendFrame(frame);
        }
        return;
      }
      for (const message of event.messages) this.notifyAccepted(message);
    } catch (error) {
      // The message stays pending in PostgreSQL: the device gets it on its next catch-up.
      this.logger.warn(`routed ${event.kind} not delivered: ${describeError(error)}`);
    }
  }

  /** Tells the sockets held here of an accepted message: with its copy when it was accepted here. */
  private notifyAccepted({ messageId, deviceIds, notices, copyFor }: AcceptedEvent): void {
    deviceIds.forEach((deviceId, index) => {
      const connections = this.connections.get(deviceId);
      if (!connections) return;
      const notice = notices?.[index];
      const live = notice && copyFor ? { notice, message: copyFor(deviceId) } : undefined;
      for (const connection of connections) connection.notify(messageId, live);
    });
  }

  /** Drops sockets that missed a ping, pings the rest, renews presence, and re-syncs devices whose presence was lost. */
  private async beat(): Promise<void> {
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
        for (const connection of this.connections.get(deviceId) ?? []) {
          connection
            .catchUp()
            .catch((error: Error) => this.logger.warn(`re-sync failed: ${describeError(error)}`));
        }
      }
    } catch (error) {
      this.logger.warn(`presence refresh failed: ${describeError(error)}`);
    }
  }

  private *allConnections(): Generator<StreamConnection> {
    for (const set of this.connections.values()) yield* set;
  }
}
