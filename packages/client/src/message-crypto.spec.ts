import sodium from 'libsodium-wrappers';
import {
  fromBase64,
  generateDeviceKeys,
  messageAd,
  ready,
  SharedBoxKeys,
  toBase64,
} from './crypto.js';
import { openMessage, sealMessage } from './message-crypto.js';

// Sealing and opening as PROTOCOL.md fixes them; a client in another language
// uses libsodium's plain crypto_box_open_easy, which is checked here too.

const plaintext = new TextEncoder().encode('{"type":"text","text":"hello"}');

function device(deviceId: string) {
  const keys = generateDeviceKeys();
  return { deviceId, keys, boxKey: toBase64(keys.boxPublicKey) };
}

// Keys can be made only once libsodium is ready.
beforeAll(() => ready());

describe('sealMessage and openMessage', () => {
  let sender: ReturnType<typeof device>;
  let alice: ReturnType<typeof device>;
  let bob: ReturnType<typeof device>;
  beforeAll(() => {
    [sender, alice, bob] = ['sender-device', 'alice-device', 'bob-device'].map(device);
  });
  const senderKeys = () => ({
    deviceId: sender.deviceId,
    boxKeys: new SharedBoxKeys(sender.keys.boxSecretKey),
  });

  it('seals once for every recipient device, and each opens it with its own key', () => {
    const sealed = sealMessage(plaintext, senderKeys(), 'client-id', [alice, bob]);
    expect(sealed.keys.map((key) => key.deviceId)).toEqual([alice.deviceId, bob.deviceId]);
    for (const [index, recipient] of [alice, bob].entries()) {
      const message = {
        body: sealed.body,
        wrappedKey: sealed.keys[index].wrappedKey,
        senderDeviceId: sender.deviceId,
        clientMessageId: 'client-id',
      };
      const opened = openMessage(
        message,
        sender.boxKey,
        new SharedBoxKeys(recipient.keys.boxSecretKey),
      );
      expect(new TextDecoder().decode(opened)).toBe('{"type":"text","text":"hello"}');
    }
  });

  it('wraps the key as nonce ‖ crypto_box_easy(K, nonce, recipient, sender), with a fresh nonce each time', () => {
    const first = sealMessage(plaintext, senderKeys(), 'client-id', [alice]);
    const second = sealMessage(plaintext, senderKeys(), 'client-id', [alice]);
    expect(first.body).not.toBe(second.body);
    for (const sealed of [first, second]) {
      const wrapped = fromBase64(sealed.keys[0].wrappedKey);
      const nonceBytes = sodium.crypto_box_NONCEBYTES;
      const key = sodium.crypto_box_open_easy(
        wrapped.subarray(nonceBytes),
        wrapped.subarray(0, nonceBytes),
        sender.keys.boxPublicKey,
        alice.keys.boxSecretKey,
      );
      const body = fromBase64(sealed.body);
      const bodyNonceBytes = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
      const opened = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null,
        body.subarray(bodyNonceBytes),
        messageAd(sender.deviceId, 'client-id'),
        body.subarray(0, bodyNonceBytes),
        key,
      );
      expect(opened).toEqual(plaintext);
    }
    expect(first.keys[0].wrappedKey.slice(0, 32)).not.toBe(second.keys[0].wrappedKey.slice(0, 32));
  });

  it('never reuses random bytes across keys and nonces, over several 4 KiB draws', () => {
    const keys = senderKeys();
    const first = sealMessage(plaintext, keys, 'first', [alice]);
    // Each seal draws 24 + 32 + 24 random bytes: these 300 draw several 4 KiB blocks.
    const later = Array.from({ length: 300 }, (_, index) =>
      sealMessage(plaintext, keys, `later-${index}`, [alice]),
    );
    const nonces = [first, ...later].flatMap((sealed) => [
      toBase64(fromBase64(sealed.body).subarray(0, 24)),
      toBase64(fromBase64(sealed.keys[0].wrappedKey).subarray(0, 24)),
    ]);
    expect(new Set(nonces).size).toBe(nonces.length);
    const opened = openMessage(
      {
        ...first,
        wrappedKey: first.keys[0].wrappedKey,
        senderDeviceId: sender.deviceId,
        clientMessageId: 'first',
      },
      sender.boxKey,
      new SharedBoxKeys(alice.keys.boxSecretKey),
    );
    expect(opened).toEqual(plaintext);
  });

  it('refuses a body that was altered or claimed by another sender device', () => {
    const sealed = sealMessage(plaintext, senderKeys(), 'client-id', [alice]);
    const message = {
      body: sealed.body,
      wrappedKey: sealed.keys[0].wrappedKey,
      senderDeviceId: sender.deviceId,
      clientMessageId: 'client-id',
    };
    const aliceKeys = new SharedBoxKeys(alice.keys.boxSecretKey);
    const altered = fromBase64(sealed.body);
    altered[altered.length - 1] ^= 1;
    expect(() =>
      openMessage({ ...message, body: toBase64(altered) }, sender.boxKey, aliceKeys),
    ).toThrow();
    expect(() =>
      openMessage({ ...message, senderDeviceId: 'other' }, sender.boxKey, aliceKeys),
    ).toThrow();
    expect(() => openMessage(message, bob.boxKey, aliceKeys)).toThrow();
  });
});

describe('SharedBoxKeys', () => {
  it('gives both devices of a pair the same key, computed once per peer', () => {
    const [first, second] = [device('first'), device('second')];
    const firstKeys = new SharedBoxKeys(first.keys.boxSecretKey);
    const shared = firstKeys.with(second.boxKey);
    expect(firstKeys.with(second.boxKey)).toBe(shared);
    expect(new SharedBoxKeys(second.keys.boxSecretKey).with(first.boxKey)).toEqual(shared);
    expect(firstKeys.with(device('third').boxKey)).not.toEqual(shared);
  });
});
