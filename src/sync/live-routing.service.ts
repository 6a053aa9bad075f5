import { Inject, Injectable } from '@nestjs/common';
import { PresenceService } from '../directory/presence.service.js';
import type { EphemeralMessage } from '../messages/ephemeral-send.service.js';
import {
  DEVICE_ROUTER,
  type DeviceRouter,
  type RoutedExpiry,
  type RoutedMessage,
  type RoutedReceipt,
} from './device-router.js';

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
  routeMessages(messages: RoutedMessage[]): Promise<string[]> {
    return this.routeByOwner(messages, (processId, routed) =>
      this.router.sendTo(processId, { kind: 'messages', messages: routed }),
    );
  }

  /**
   * An ephemeral message to the streams open now: one event per process
   * holding any of its devices. Returns how many of the devices presence
   * found connected.
   */
  async routeEphemeral(message: EphemeralMessage): Promise<number> {
    const owners = await this.presence.locate(message.deviceIds);
    const byProcess = groupByOwner(message.deviceIds, owners, new Set());
    if (byProcess.size === 0) return 0;
    const { wrappedKey: _wrappedKey, ...shared } = message.copyFor(message.deviceIds[0]);
    await Promise.all(
      [...byProcess].map(([processId, deviceIds]) =>
        this.router.sendTo(processId, {
          kind: 'ephemeral',
          message: shared,
          wrappedKeys: Object.fromEntries(
            deviceIds.map((deviceId) => [deviceId, message.copyFor(deviceId).wrappedKey]),
          ),
        }),
      ),
    );
    return owners.size;
  }

  /** `expired` notices to the senders' connected devices, the same way. */
  async routeExpiries(expiries: RoutedExpiry[]): Promise<void> {
    await this.routeByOwner(expiries, (processId, routed) =>
      this.router.sendTo(processId, { kind: 'expired', expired: routed }),
    );
  }

  /** Receipts to the sender's connected devices, the same way. */
  async routeReceipts(receipts: RoutedReceipt[]): Promise<void> {
    await this.routeByOwner(receipts, (processId, routed) =>
      this.router.sendTo(processId, { kind: 'receipts', receipts: routed }),
    );
  }

  async broadcastRevoked(deviceId: string): Promise<void> {
    await this.router.broadcast({ kind: 'revoked', deviceId });
  }

  /** Sends each process the items (with only the devices it holds); returns the devices held by none. */
  private async routeByOwner<T extends { deviceIds: string[] }>(
    items: T[],
    send: (processId: string, routed: T[]) => Promise<void>,
  ): Promise<string[]> {
    const owners = await this.presence.locate([
      ...new Set(items.flatMap((item) => item.deviceIds)),
    ]);
    const byProcess = new Map<string, T[]>();
    const offline = new Set<string>();
    for (const item of items) {
      for (const [processId, local] of groupByOwner(item.deviceIds, owners, offline)) {
        const routed = byProcess.get(processId) ?? [];
        routed.push({ ...item, deviceIds: local });
        byProcess.set(processId, routed);
      }
    }
    await Promise.all([...byProcess].map(([processId, routed]) => send(processId, routed)));
    return [...offline];
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
