import sodium from 'libsodium-wrappers';

// libsodium is initialised once before any use: by createApp (src/app.ts) and the admin script.
export async function initSodium(): Promise<void> {
  await sodium.ready;
}

export function randomBytes(length: number): Buffer {
  return Buffer.from(sodium.randombytes_buf(length));
}

/** Hash of a secret (token, challenge, link code) for storage: BLAKE2b-256. */
export function hashSecret(secret: Uint8Array): Buffer {
  // Copied into memory of its own, not a slice of Node's shared 8 KiB pool
  // (where Buffer.from would put it): a hash may be kept (an open stream
  // holds its token's), and a slice would keep the whole pool alive, with
  // whatever else was cut from it.
  const hash = Buffer.allocUnsafeSlow(32);
  hash.set(sodium.crypto_generichash(32, secret, null));
  return hash;
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium.memcmp(a, b);
}

export function verifyDetached(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

export const BOX_KEY_CONTEXT = Buffer.from('supernode-boxkey-v1', 'utf8');
export const AUTH_CONTEXT = Buffer.from('supernode-auth-v1', 'utf8');
