import { metricsTokenMatches } from './metrics-access.js';

describe('metricsTokenMatches', () => {
  const token = 'a-metrics-token-of-enough-length';

  it('accepts the configured token as a bearer token, in any case of the scheme', () => {
    expect(metricsTokenMatches(`Bearer ${token}`, token)).toBe(true);
    expect(metricsTokenMatches(`bearer ${token}`, token)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['another token', 'Bearer a-metrics-token-of-enough-lengtH'],
    ['a prefix of the token', 'Bearer a-metrics-token'],
    ['the token without the scheme', token],
    ['basic credentials', `Basic ${token}`],
  ])('refuses %s', (_case, header) => {
    expect(metricsTokenMatches(header, token)).toBe(false);
  });
});
