import sodium from 'sodium-native';

// The server's libsodium is sodium-native, a binding to the C library:
// sealing at rest and signature checks cost about half of what
// libsodium-wrappers' WebAssembly build does with its copies in and out,
// hashes somewhat less (bench/history/2026-12-04.md). The SDK keeps
// libsodium-wrappers, which runs in browsers too; both are libsodium, byte
// for byte (crypto.spec.ts checks it).

/** A Buffer over the same bytes (no copy): sodium-native's typings take Buffers. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function randomBytes(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  sodium.randombytes_buf(bytes);
  return bytes;
}

/** Hash of a secret (token, challenge, link code) for storage: BLAKE2b-256. */
export function hashSecret(secret: Uint8Array): Buffer {
  // In memory of its own, not a slice of Node's shared 8 KiB pool: a hash
  // may be kept (an open stream holds its token's), and a slice would keep
  // the whole pool alive, with whatever else was cut from it.
  const hash = Buffer.allocUnsafeSlow(32);
  sodium.crypto_generichash(hash, asBuffer(secret));
  return hash;
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium.sodium_memcmp(asBuffer(a), asBuffer(b));
}

export function verifyDetached(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  // libsodium-wrappers threw on a key or signature of the wrong length; sodium-native asserts.
  if (
    signature.length !== sodium.crypto_sign_BYTES ||
    publicKey.length !== sodium.crypto_sign_PUBLICKEYBYTES
  )
    return false;
  return sodium.crypto_sign_verify_detached(
    asBuffer(signature),
    asBuffer(message),
    asBuffer(publicKey),
  );
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map(asBuffer));
}

export const BOX_KEY_CONTEXT = Buffer.from('supernode-boxkey-v1', 'utf8');
export const AUTH_CONTEXT = Buffer.from('supernode-auth-v1', 'utf8');
