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

// Node's Buffer where there is one (it is several times faster than a
// string built byte by byte), btoa/atob in browsers.
const nodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

export function toBase64(bytes: Uint8Array): string {
  if (nodeBuffer)
    return nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
  let binary = '';
  for (let start = 0; start < bytes.length; start += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  if (nodeBuffer) return new Uint8Array(nodeBuffer.from(text, 'base64'));
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function concat(...parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

// Message keys and nonces come from Web Crypto's CSPRNG, in Node and in
// browsers alike (libsodium-wrappers' randombytes_buf is much slower a call),
// drawn 4 KiB at a time: each draw is a system call, which on a VM cost more
// than the rest of sealing a message, and a send needs 2 + one per device.
// Every byte is handed out once; a fresh buffer is drawn, never refilled, so
// slices already handed out keep their bytes.
const RANDOM_DRAW_BYTES = 4096;
let randomDraw: Uint8Array = new Uint8Array(0);
let randomOffset = 0;

const randomBytes = (length: number): Uint8Array =>
  globalThis.crypto.getRandomValues(new Uint8Array(length));

function random(length: number): Uint8Array {
  if (length > RANDOM_DRAW_BYTES) return randomBytes(length);
  if (randomOffset + length > randomDraw.length) {
    randomDraw = randomBytes(RANDOM_DRAW_BYTES);
    randomOffset = 0;
  }
  randomOffset += length;
  return randomDraw.subarray(randomOffset - length, randomOffset);
}

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
  const key = random(sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  const nonce = random(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
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

/** Opens JSON sealed to a device's box key (crypto_box_seal): a wake-up push's payload. */
export function openSealedJson(
  sealed: Uint8Array,
  keys: Pick<DeviceKeyPairs, 'boxPublicKey' | 'boxSecretKey'>,
): unknown {
  const plaintext = sodium.crypto_box_seal_open(sealed, keys.boxPublicKey, keys.boxSecretKey);
  return JSON.parse(new TextDecoder().decode(plaintext));
}

/**
 * One device's X25519 shared keys with its peers' box keys
 * (crypto_box_beforenm), each computed once: the same key wraps for a peer
 * and unwraps from it, and boxing with it gives the bytes crypto_box_easy
 * would. It spares a scalar multiplication (83 µs on the benchmark machine)
 * per message and device.
 */
export class SharedBoxKeys {
  private readonly byPeer = new Map<string, Uint8Array>();

  constructor(private readonly boxSecretKey: Uint8Array) {}

  /** The shared key with the device whose box key this is (base64, as directories carry it). */
  with(peerBoxKey: string): Uint8Array {
    let shared = this.byPeer.get(peerBoxKey);
    if (!shared) {
      shared = sodium.crypto_box_beforenm(fromBase64(peerBoxKey), this.boxSecretKey);
      this.byPeer.set(peerBoxKey, shared);
    }
    return shared;
  }
}

/**
 * wrappedKey = nonce(24) ‖ crypto_box_easy(K, nonce, recipientBoxKey, senderBoxSecretKey),
 * computed with the pair's shared key.
 */
export function wrapKey(key: Uint8Array, sharedKey: Uint8Array): Uint8Array {
  const nonce = random(sodium.crypto_box_NONCEBYTES);
  return concat(nonce, sodium.crypto_box_easy_afternm(key, nonce, sharedKey));
}

export function unwrapKey(wrapped: Uint8Array, sharedKey: Uint8Array): Uint8Array {
  const nonceBytes = sodium.crypto_box_NONCEBYTES;
  return sodium.crypto_box_open_easy_afternm(
    wrapped.subarray(nonceBytes),
    wrapped.subarray(0, nonceBytes),
    sharedKey,
  );
}
