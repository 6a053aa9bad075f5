import { fastifyTrustProxy, rateLimitAddressKey } from './client-address.js';

describe('rateLimitAddressKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:aaaa::', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80::/64'],
    ['::1', '::/64'],
  ])('%s counts as %s', (address, key) => {
    expect(rateLimitAddressKey(address)).toBe(key);
  });

  it('keeps neighbouring /64s and IPv4 addresses apart', () => {
    expect(rateLimitAddressKey('2001:db8:1:2::1')).not.toBe(rateLimitAddressKey('2001:db8:1:3::1'));
    expect(rateLimitAddressKey('203.0.113.7')).not.toBe(rateLimitAddressKey('203.0.113.8'));
  });

  it('passes through what is not an address', () => {
    expect(rateLimitAddressKey('unknown')).toBe('unknown');
  });
});

describe('fastifyTrustProxy', () => {
  it('passes off and address lists through', () => {
    expect(fastifyTrustProxy(false)).toBe(false);
    expect(fastifyTrustProxy(['10.0.0.0/8', 'loopback'])).toEqual(['10.0.0.0/8', 'loopback']);
  });

  it('trusts exactly the given number of hops from the socket inwards', () => {
    const trust = fastifyTrustProxy(2);
    if (typeof trust !== 'function') throw new Error('expected a function');
    expect([0, 1, 2, 3].map((hop) => trust('198.51.100.1', hop))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });
});
