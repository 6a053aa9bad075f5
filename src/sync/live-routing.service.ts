import { Inject, Injectable } from '@nestjs/common';
import { PresenceService } from '../directory/presence.service.js';
import { DEVICE_ROUTER, type DeviceRouter, type RoutedMessage } from './device-router.js';

/** Sends events to whichever processes hold the devices' sockets, using presence. */
@Injectable()
export class LiveRoutingService {
  constructor(
    private readonly presence: PresenceService,
    @Inject(DEVICE_ROUTER) private readonly router: DeviceRouter,
  ) {}

  /**
   * Routes messages to their connected devices: one presence look-up for all
   * and one event per process holding any of them. Returns the devices that
   * are not connected.
   */
  async routeMessages(messages: RoutedMessage[]): Promise<string[]> {
    const owners = await this.presence.locate([
      ...new Set(messages.flatMap((message) => message.deviceIds)),
    ]);
    const byProcess = new Map<string, RoutedMessage[]>();
    const offline = new Set<string>();
    for (const { messageId, deviceIds } of messages) {
      for (const [processId, local] of groupByOwner(deviceIds, owners, offline)) {
        const routed = byProcess.get(processId) ?? [];
        routed.push({ messageId, deviceIds: local });
        byProcess.set(processId, routed);
      }
    }
    await Promise.all(
      [...byProcess].map(([processId, routed]) =>
        this.router.sendTo(processId, { kind: 'messages', messages: routed }),
      ),
    );
    return [...offline];
  }

  async routeReceipt(
    messageId: string,
    ackedByDeviceId: string,
    deviceIds: string[],
  ): Promise<void> {
    const owners = await this.presence.locate(deviceIds);
    await Promise.all(
      [...groupByOwner(deviceIds, owners, new Set())].map(([processId, local]) =>
        this.router.sendTo(processId, {
          kind: 'receipt',
          messageId,
          ackedByDeviceId,
          deviceIds: local,
        }),
      ),
    );
  }

  async broadcastRevoked(deviceId: string): Promise<void> {
    await this.router.broadcast({ kind: 'revoked', deviceId });
  }
}

/** Devices by the process that holds them; adds those held by none to `offline`. */
function groupByOwner(
  deviceIds: string[],
  owners: Map<string, string>,
  offline: Set<string>,
): Map<string, string[]> {
  const byProcess = new Map<string, string[]>();
  for (const deviceId of deviceIds) {
    const processId = owners.get(deviceId);
    if (!processId) {
      offline.add(deviceId);
      continue;
    }
    const local = byProcess.get(processId);
    if (local) local.push(deviceId);
    else byProcess.set(processId, [deviceId]);
  }
  return byProcess;
}
