import { EndpointPolicy, isPublicAddress } from './endpoint-policy.js';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    'not an address',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '2001:4860:4860::8888', '::ffff:8.8.8.8'])('accepts %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('EndpointPolicy.refusal', () => {
  const policy = new EndpointPolicy(['push.test.localhost', 'localhost']);

  it.each([
    ['http://8.8.8.8/push', /only https/],
    ['ftp://8.8.8.8/push', /only https/],
    ['https://user:pw@8.8.8.8/push', /credentials/],
    ['https://127.0.0.1/push', /loopback, private or link-local/],
    ['https://[::1]:8443/push', /loopback, private or link-local/],
    ['https://169.254.169.254/latest', /loopback, private or link-local/],
    ['https://10.0.0.7/push', /loopback, private or link-local/],
    ['not a url', /not a URL/],
  ])('refuses %s', async (endpoint, reason) => {
    expect(await policy.refusal(endpoint)).toMatch(reason);
  });

  it('accepts a listed host whatever it resolves to, and a public address', async () => {
    expect(await policy.refusal('https://localhost:9443/push/abc')).toBeUndefined();
    expect(await policy.refusal('https://8.8.8.8/push')).toBeUndefined();
  });

  it('refuses at connect time a name that resolves to loopback', async () => {
    const strict = new EndpointPolicy([]);
    const error = await new Promise<Error | null>((resolve) =>
      strict.lookup('localhost', { all: true }, (failure) => resolve(failure)),
    );
    expect(error?.message).toMatch(/refused/);
    const allowed = await new Promise<Error | null>((resolve) =>
      policy.lookup('localhost', { all: true }, (failure) => resolve(failure)),
    );
    expect(allowed).toBeNull();
  });
});
