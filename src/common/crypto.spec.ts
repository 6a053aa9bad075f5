import sodium from 'libsodium-wrappers';
import { constantTimeEqual, hashSecret, verifyDetached } from './crypto.js';

beforeAll(() => sodium.ready);

describe('the server’s libsodium helpers', () => {
  it('hash a secret as BLAKE2b-256', () => {
    const secret = sodium.randombytes_buf(32);
    expect(hashSecret(secret)).toEqual(Buffer.from(sodium.crypto_generichash(32, secret, null)));
  });

  it('give a hash memory of its own, so that keeping it keeps nothing else', () => {
    const hash = hashSecret(Buffer.from('a token’s secret'));
    expect(hash.byteOffset).toBe(0);
    expect(hash.buffer.byteLength).toBe(32);
  });

  it('check a signature, and refuse a changed one', () => {
    const keys = sodium.crypto_sign_keypair();
    const message = Buffer.from('supernode-auth-v1 challenge');
    const signature = sodium.crypto_sign_detached(message, keys.privateKey);
    expect(verifyDetached(signature, message, keys.publicKey)).toBe(true);
    const changed = Uint8Array.from(signature);
    changed[0] ^= 1;
    expect(verifyDetached(changed, message, keys.publicKey)).toBe(false);
    expect(verifyDetached(signature, Buffer.from('another challenge'), keys.publicKey)).toBe(false);
  });

  it('answer false, not throw, for a signature or key of the wrong length', () => {
    const keys = sodium.crypto_sign_keypair();
    const message = Buffer.from('challenge');
    const signature = sodium.crypto_sign_detached(message, keys.privateKey);
    expect(verifyDetached(signature.subarray(1), message, keys.publicKey)).toBe(false);
    expect(verifyDetached(signature, message, keys.publicKey.subarray(1))).toBe(false);
    expect(verifyDetached(new Uint8Array(0), message, new Uint8Array(0))).toBe(false);
  });

  it('compare equal bytes as equal and any difference, length included, as not', () => {
    expect(constantTimeEqual(Buffer.from('same'), Buffer.from('same'))).toBe(true);
    expect(constantTimeEqual(Buffer.from('same'), Buffer.from('samf'))).toBe(false);
    expect(constantTimeEqual(Buffer.from('same'), Buffer.from('sam'))).toBe(false);
  });
});
