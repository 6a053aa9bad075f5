/** A device a message must reach: one of the recipients' or the sender's own other devices. */
export interface AddressableDevice {
  deviceId: string;
  accountId: string;
}

export type CoverageResult<D extends AddressableDevice> =
  | { kind: 'covered'; devices: D[] }
  | { kind: 'stale'; staleDeviceIds: string[]; missing: D[] }
  | { kind: 'missing'; missing: D[] };

/**
 * The device-coverage rule of DESIGN.md: the keys of a send must name exactly
 * the expected devices. A key for a device that is not expected (revoked,
 * unknown, not a recipient's, or the sending device itself) makes the send
 * stale (410); an expected device without a key makes it incomplete (409).
 */
export function checkCoverage<D extends AddressableDevice>(
  expected: D[],
  keyedDeviceIds: string[],
): CoverageResult<D> {
  const keyed = new Set(keyedDeviceIds);
  const expectedIds = new Set(expected.map((device) => device.deviceId));
  const staleDeviceIds = keyedDeviceIds.filter((deviceId) => !expectedIds.has(deviceId));
  const missing = expected.filter((device) => !keyed.has(device.deviceId));
  if (staleDeviceIds.length > 0) return { kind: 'stale', staleDeviceIds, missing };
  if (missing.length > 0) return { kind: 'missing', missing };
  return { kind: 'covered', devices: expected };
}

/** The devices a send must cover: the recipients' current devices and the sender's other ones. */
export function expectedDevices<D extends AddressableDevice>(
  current: D[],
  senderDeviceId: string,
): D[] {
  const seen = new Set<string>();
  return current.filter((device) => {
    if (device.deviceId === senderDeviceId || seen.has(device.deviceId)) return false;
    seen.add(device.deviceId);
    return true;
  });
}
