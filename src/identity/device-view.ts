import type { DeviceRecord } from './identity.repository.js';

/** A device as the directory shows it: its public keys, base64. */
export function publicDeviceView(device: DeviceRecord) {
  return {
    deviceId: device.id,
    signingKey: device.signingKey.toString('base64'),
    boxKey: device.boxKey.toString('base64'),
    boxKeySignature: device.boxKeySignature.toString('base64'),
  };
}
