import sodium from 'libsodium-wrappers';

// Constructions of PROTOCOL.md ("Keys and signatures"); byte-exact, since
// clients in other languages must interoperate.
const BOX_KEY_CONTEXT = 'supernode-boxkey-v1';
const AUTH_CONTEXT = 'supernode-auth-v1';

export interface DeviceKeyPairs {
  signingPublicKey: Uint8Array;
  signingSecretKey: Uint8Array;
  boxPublicKey: Uint8Array;
  boxSecretKey: Uint8Array;
}

/** The public half of a device, as the server stores and the directory returns it (base64). */
export interface PublicDeviceKeys {
  signingKey: string;
  boxKey: string;
  boxKeySignature: string;
}

export const ready = (): Promise<void> => sodium.ready;

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
export const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** A fresh Ed25519 signing pair and X25519 box pair for a new device. */
export function generateDeviceKeys(): DeviceKeyPairs {
  const signing = sodium.crypto_sign_keypair();
  const box = sodium.crypto_box_keypair();
  return {
    signingPublicKey: signing.publicKey,
    signingSecretKey: signing.privateKey,
    boxPublicKey: box.publicKey,
    boxSecretKey: box.privateKey,
  };
}

export function publicDeviceKeys(keys: DeviceKeyPairs): PublicDeviceKeys {
  const signature = sodium.crypto_sign_detached(
    concat(utf8(BOX_KEY_CONTEXT), keys.boxPublicKey),
    keys.signingSecretKey,
  );
  return {
    signingKey: toBase64(keys.signingPublicKey),
    boxKey: toBase64(keys.boxPublicKey),
    boxKeySignature: toBase64(signature),
  };
}

/** True when the device's box key is signed by its signing key (checked before wrapping for it). */
export function verifyBoxKey(device: PublicDeviceKeys): boolean {
  try {
    return sodium.crypto_sign_verify_detached(
      fromBase64(device.boxKeySignature),
      concat(utf8(BOX_KEY_CONTEXT), fromBase64(device.boxKey)),
      fromBase64(device.signingKey),
    );
  } catch {
    return false;
  }
}

export function signChallenge(challenge: Uint8Array, signingSecretKey: Uint8Array): Uint8Array {
  return sodium.crypto_sign_detached(concat(utf8(AUTH_CONTEXT), challenge), signingSecretKey);
}

/** Additional data binding a body to its sender device and client message id. */
export const messageAd = (senderDeviceId: string, clientMessageId: string): Uint8Array =>
  utf8(`${senderDeviceId}:${clientMessageId}`);

/** body = nonce(24) ‖ XChaCha20-Poly1305-IETF(plaintext, ad, nonce, K), with a fresh K. */
export function encryptBody(
  plaintext: Uint8Array,
  ad: Uint8Array,
): { body: Uint8Array; key: Uint8Array } {
  const key = sodium.crypto_aead_xchacha20poly1305_ietf_keygen();
  const nonce = sodium.randombytes_buf(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    plaintext,
    ad,
    null,
    nonce,
    key,
  );
  return { body: concat(nonce, ciphertext), key };
}

export function decryptBody(body: Uint8Array, ad: Uint8Array, key: Uint8Array): Uint8Array {
  const nonceBytes = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
    null,
    body.subarray(nonceBytes),
    ad,
    body.subarray(0, nonceBytes),
    key,
  );
}

/** wrappedKey = nonce(24) ‖ crypto_box_easy(K, nonce, recipientBoxKey, senderBoxSecretKey). */
export function wrapKey(
  key: Uint8Array,
  recipientBoxKey: Uint8Array,
  senderBoxSecretKey: Uint8Array,
): Uint8Array {
  const nonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES);
  return concat(nonce, sodium.crypto_box_easy(key, nonce, recipientBoxKey, senderBoxSecretKey));
}

export function unwrapKey(
  wrapped: Uint8Array,
  senderBoxKey: Uint8Array,
  recipientBoxSecretKey: Uint8Array,
): Uint8Array {
  const nonceBytes = sodium.crypto_box_NONCEBYTES;
  return sodium.crypto_box_open_easy(
    wrapped.subarray(nonceBytes),
    wrapped.subarray(0, nonceBytes),
    senderBoxKey,
    recipientBoxSecretKey,
  );
}
