import {
  decryptBody,
  encryptBody,
  fromBase64,
  messageAd,
  type SharedBoxKeys,
  toBase64,
  unwrapKey,
  wrapKey,
} from './crypto.js';

export interface RecipientDevice {
  deviceId: string;
  boxKey: string;
}

export interface SealedMessage {
  body: string;
  keys: { deviceId: string; wrappedKey: string }[];
}

/** Encrypts the plaintext once and wraps its key for every recipient device (PROTOCOL.md). */
export function sealMessage(
  plaintext: Uint8Array,
  sender: { deviceId: string; boxKeys: SharedBoxKeys },
  clientMessageId: string,
  recipients: RecipientDevice[],
): SealedMessage {
  const { body, key } = encryptBody(plaintext, messageAd(sender.deviceId, clientMessageId));
  return {
    body: toBase64(body),
    keys: recipients.map((device) => ({
      deviceId: device.deviceId,
      wrappedKey: toBase64(wrapKey(key, sender.boxKeys.with(device.boxKey))),
    })),
  };
}

/**
 * Unwraps the key with the sender device's box key (base64) and decrypts;
 * throws if anything was altered.
 */
export function openMessage(
  message: { body: string; wrappedKey: string; senderDeviceId: string; clientMessageId: string },
  senderBoxKey: string,
  recipientBoxKeys: SharedBoxKeys,
): Uint8Array {
  const key = unwrapKey(fromBase64(message.wrappedKey), recipientBoxKeys.with(senderBoxKey));
  return decryptBody(
    fromBase64(message.body),
    messageAd(message.senderDeviceId, message.clientMessageId),
    key,
  );
}
