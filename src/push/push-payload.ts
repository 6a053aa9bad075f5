import { createHash } from 'node:crypto';
import sodium from 'libsodium-wrappers';

/** What a push tells the device, and nothing more: no sender, no message. */
export interface PushPayload {
  v: 1;
  /** `call` for an urgent send (ring), `message` otherwise. */
  kind: 'message' | 'call';
  /** How many messages are pending for the device. */
  pending: number;
}

/**
 * The RFC 8291 plaintext: the JSON sealed to the device's own box key
 * (crypto_box_seal), so that the push service sees ciphertext even if it
 * could strip the Web Push encryption, and our logs never hold the JSON.
 */
export function sealPushPayload(boxKey: Uint8Array, payload: PushPayload): Buffer {
  return Buffer.from(sodium.crypto_box_seal(JSON.stringify(payload), boxKey));
}

/**
 * The Topic of every push to a device (RFC 8030: at most 32 characters of
 * base64url). Derived from the device id by a hash, so the push service can
 * collapse a device's pushes without learning its id.
 */
export function pushTopic(deviceId: string): string {
  return createHash('sha256')
    .update(`supernode-push-topic:${deviceId}`)
    .digest()
    .subarray(0, 24)
    .toString('base64url');
}
