import { randomFillSync } from 'node:crypto';
import sodium from 'libsodium-wrappers';

// Ciphertext at rest (docs/retention.md, "Crypto-shredding"): what clients
// sent, sealed once more with XChaCha20-Poly1305 under a key of its UTC day
// of expiry. A sealed value is nonce ‖ ciphertext ‖ tag.
export const NONCE_BYTES = 24;
const TAG_BYTES = 16;
/** How many bytes sealing adds to a value. */
export const SEAL_OVERHEAD_BYTES = NONCE_BYTES + TAG_BYTES;

// A row is sealed under the key of a day no earlier than its expiry's:
// PostgreSQL computes the expiry from its own clock when it stores the row,
// so the day is taken an hour later than this process's clock says, which
// covers any clock difference between them that NTP leaves. A day's key is
// destroyed once the day is over, so no unexpired row can be sealed under it.
const KEY_DAY_MARGIN_MS = 3600_000;

/** The day (YYYY-MM-DD, UTC) whose key seals a message stored now with this time to live. */
export function keyDayFor(nowMs: number, ttlSeconds: number): string {
  return new Date(nowMs + ttlSeconds * 1000 + KEY_DAY_MARGIN_MS).toISOString().slice(0, 10);
}

/** Today, UTC, as the key days count it. */
export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

// Nonces come from node:crypto's CSPRNG drawn 4 KiB at a time: a draw is a
// system call, which costs more than sealing a small value, and a stored
// message needs one nonce per recipient device besides its body's. Each byte
// is handed out once; a fresh buffer is drawn, never refilled, so slices
// handed out keep their bytes.
const NONCE_DRAW_BYTES = NONCE_BYTES * 256;
let nonceDraw = Buffer.alloc(0);
let nonceOffset = 0;

function nextNonce(): Buffer {
  if (nonceOffset + NONCE_BYTES > nonceDraw.length) {
    nonceDraw = randomFillSync(Buffer.allocUnsafe(NONCE_DRAW_BYTES));
    nonceOffset = 0;
  }
  nonceOffset += NONCE_BYTES;
  return nonceDraw.subarray(nonceOffset - NONCE_BYTES, nonceOffset);
}

/** Seals `plain` under `key`; `associated` (if any) must be given again to open it. */
export function seal(
  plain: Uint8Array,
  key: Uint8Array,
  associated: Uint8Array | null = null,
): Buffer {
  const nonce = nextNonce();
  const sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    plain,
    associated,
    null,
    nonce,
    key,
  );
  return Buffer.concat([nonce, sealed]);
}

/** Opens what `seal` made; throws when the key, the associated data or a byte is not the same. */
export function open(
  sealed: Uint8Array,
  key: Uint8Array,
  associated: Uint8Array | null = null,
): Buffer {
  if (sealed.length < SEAL_OVERHEAD_BYTES) throw new Error('sealed value too short');
  const plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
    null,
    sealed.subarray(NONCE_BYTES),
    associated,
    sealed.subarray(0, NONCE_BYTES),
    key,
  );
  return Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
}
