import {
  decryptBody,
  encryptBody,
  fromBase64,
  messageAd,
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
  sender: { deviceId: string; boxSecretKey: Uint8Array },
  clientMessageId: string,
  recipients: RecipientDevice[],
): SealedMessage {
  const { body, key } = encryptBody(plaintext, messageAd(sender.deviceId, clientMessageId));
  return {
    body: toBase64(body),
    keys: recipients.map((device) => ({
      deviceId: device.deviceId,
      wrappedKey: toBase64(wrapKey(key, fromBase64(device.boxKey), sender.boxSecretKey)),
    })),
  };
}

/** Unwraps the key with the sender device's box key and decrypts; throws if anything was altered. */
export function openMessage(
  message: { body: string; wrappedKey: string; senderDeviceId: string; clientMessageId: string },
  senderBoxKey: Uint8Array,
  recipientBoxSecretKey: Uint8Array,
): Uint8Array {
  const key = unwrapKey(fromBase64(message.wrappedKey), senderBoxKey, recipientBoxSecretKey);
  return decryptBody(
    fromBase64(message.body),
    messageAd(message.senderDeviceId, message.clientMessageId),
    key,
  );
}
