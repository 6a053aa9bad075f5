import { verifyBoxKey } from './crypto.js';
import { SupernodeError } from './errors.js';
import type { DirectoryDevice, DirectoryEntry } from './types.js';

export interface KnownDevice extends DirectoryDevice {
  accountId: string;
}

/** A device whose box key is not signed by its signing key: the keys cannot be trusted. */
export class UntrustedKeyError extends SupernodeError {
  constructor(deviceId: string) {
    super(
      0,
      'untrusted_key',
      `The box key of device ${deviceId} is not signed by its signing key`,
      {},
    );
  }
}

/**
 * The SDK's memory of other devices' public keys: the recipients of each
 * target (an account or a conversation) and every device seen, by id, for
 * decrypting. Every key is checked against its signature before it is kept.
 */
export class DeviceDirectory {
  private readonly byTarget = new Map<string, Map<string, KnownDevice>>();
  private readonly byDeviceId = new Map<string, KnownDevice>();

  recipientsOf(target: string): KnownDevice[] {
    return [...(this.byTarget.get(target)?.values() ?? [])];
  }

  /** Applies a 409/410 answer: adds the missing devices and drops the stale ones. */
  update(target: string, missing: KnownDevice[], staleIds: string[]): void {
    const devices = this.byTarget.get(target) ?? new Map<string, KnownDevice>();
    for (const deviceId of staleIds) devices.delete(deviceId);
    for (const device of missing) devices.set(device.deviceId, this.remember(device));
    this.byTarget.set(target, devices);
  }

  rememberEntry(entry: DirectoryEntry): void {
    for (const device of entry.devices) this.remember({ ...device, accountId: entry.accountId });
  }

  /** The device's box key, base64. */
  boxKeyOf(deviceId: string): string | undefined {
    return this.byDeviceId.get(deviceId)?.boxKey;
  }

  private remember(device: KnownDevice): KnownDevice {
    if (!verifyBoxKey(device)) throw new UntrustedKeyError(device.deviceId);
    // A device id keeps the signing key first seen for it (trust on first use).
    const known = this.byDeviceId.get(device.deviceId);
    if (known && known.signingKey !== device.signingKey)
      throw new UntrustedKeyError(device.deviceId);
    this.byDeviceId.set(device.deviceId, device);
    return device;
  }
}
