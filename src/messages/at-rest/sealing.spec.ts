import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { keyDayFor, NONCE_BYTES, open, seal, SEAL_OVERHEAD_BYTES, utcDay } from './sealing.js';

beforeAll(() => sodium.ready);

const key = () => sodium.randombytes_buf(32);

describe('sealing at rest', () => {
  it('opens what it sealed, and a sealed value is the plain one plus a fixed overhead', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (plain) => {
        const dayKey = key();
        const sealed = seal(plain, dayKey);
        expect(sealed.length).toBe(plain.length + SEAL_OVERHEAD_BYTES);
        expect(open(sealed, dayKey)).toEqual(Buffer.from(plain));
      }),
    );
  });

  it('is libsodium’s XChaCha20-Poly1305 with the nonce in front', () => {
    const dayKey = key();
    const plain = new TextEncoder().encode('ciphertext as a client sent it');
    const sealed = seal(plain, dayKey);
    const opened = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      sealed.subarray(NONCE_BYTES),
      null,
      sealed.subarray(0, NONCE_BYTES),
      dayKey,
    );
    expect(Buffer.from(opened)).toEqual(Buffer.from(plain));
  });

  it('never reuses a nonce', () => {
    const dayKey = key();
    const nonces = new Set<string>();
    for (let index = 0; index < 2000; index++)
      nonces.add(seal(new Uint8Array(1), dayKey).subarray(0, NONCE_BYTES).toString('hex'));
    expect(nonces.size).toBe(2000);
  });

  it('refuses another key, other associated data, a changed byte and a cut value', () => {
    const dayKey = key();
    const context = Buffer.from('day:2026-12-03');
    const sealed = seal(Buffer.from('body'), dayKey, context);
    expect(open(sealed, dayKey, context).toString()).toBe('body');
    expect(() => open(sealed, key(), context)).toThrow();
    expect(() => open(sealed, dayKey, Buffer.from('day:2026-12-04'))).toThrow();
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] ^= 1;
    expect(() => open(flipped, dayKey, context)).toThrow();
    expect(() => open(sealed.subarray(0, SEAL_OVERHEAD_BYTES - 1), dayKey, context)).toThrow();
  });
});

describe('the day whose key seals a message', () => {
  const DAY_MS = 24 * 3600 * 1000;

  it('is never before the UTC day it expires, even if the database clock is up to an hour ahead', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_700_000_000_000, max: 2_000_000_000_000 }),
        fc.integer({ min: 1, max: 30 * 24 * 3600 }),
        fc.integer({ min: -3600_000, max: 3600_000 }),
        (nowMs, ttlSeconds, databaseAheadMs) => {
          const expiresAt = nowMs + databaseAheadMs + ttlSeconds * 1000;
          expect(keyDayFor(nowMs, ttlSeconds) >= utcDay(expiresAt)).toBe(true);
        },
      ),
    );
  });

  it('is at most one day after the day it expires', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_700_000_000_000, max: 2_000_000_000_000 }),
        fc.integer({ min: 1, max: 30 * 24 * 3600 }),
        (nowMs, ttlSeconds) => {
          const expiresAt = nowMs + ttlSeconds * 1000;
          expect(keyDayFor(nowMs, ttlSeconds) <= utcDay(expiresAt + DAY_MS)).toBe(true);
        },
      ),
    );
  });

  it('is the day of expiry for a message that does not expire in the last hour of a day', () => {
    const now = Date.parse('2026-12-03T08:00:00Z');
    expect(keyDayFor(now, 3600)).toBe('2026-12-03');
    expect(keyDayFor(now, 15 * 3600)).toBe('2026-12-04'); // expires 23:00, within the hour
    expect(keyDayFor(now, 7 * 24 * 3600)).toBe('2026-12-10');
  });
});
