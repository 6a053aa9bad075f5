import { Inject, Injectable } from '@nestjs/common';
import { PresenceService } from '../directory/presence.service.js';
import { DEVICE_ROUTER, type DeviceRouter, type RoutedEvent } from './device-router.js';

/** Sends events to whichever processes hold the devices' sockets, using presence. */
@Injectable()
export class LiveRoutingService {
  constructor(
    private readonly presence: PresenceService,
    @Inject(DEVICE_ROUTER) private readonly router: DeviceRouter,
  ) {}

  /** Routes a message to its connected devices; returns the devices that are not connected. */
  async routeMessage(messageId: string, deviceIds: string[]): Promise<string[]> {
    return this.route(deviceIds, (local) => ({ kind: 'message', messageId, deviceIds: local }));
  }

  async routeReceipt(
    messageId: string,
    ackedByDeviceId: string,
    deviceIds: string[],
  ): Promise<void> {
    await this.route(deviceIds, (local) => ({
      kind: 'receipt',
      messageId,
      ackedByDeviceId,
      deviceIds: local,
    }));
  }

  async broadcastRevoked(deviceId: string): Promise<void> {
    await this.router.broadcast({ kind: 'revoked', deviceId });
  }

  private async route(
    deviceIds: string[],
    eventFor: (deviceIds: string[]) => RoutedEvent,
  ): Promise<string[]> {
    const owners = await this.presence.locate(deviceIds);
    const byProcess = new Map<string, string[]>();
    const offline: string[] = [];
    for (const deviceId of deviceIds) {
      const processId = owners.get(deviceId);
      if (!processId) offline.push(deviceId);
      else byProcess.set(processId, [...(byProcess.get(processId) ?? []), deviceId]);
    }
    await Promise.all(
      [...byProcess].map(([processId, local]) => this.router.sendTo(processId, eventFor(local))),
    );
    return offline;
  }
}
