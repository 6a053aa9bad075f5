import { BASE64_PATTERN, isBase64 } from './validation.js';

// The pattern the HTTP reference publishes (and the regex isBase64 replaced):
// both must agree on every input.
const REFERENCE = new RegExp(BASE64_PATTERN);

describe('isBase64', () => {
  it('accepts what Buffer encodes, of every length', () => {
    for (let length = 0; length < 70; length++) {
      const text = Buffer.from(Array.from({ length }, (_unused, index) => index * 37)).toString(
        'base64',
      );
      expect(isBase64(text)).toBe(true);
    }
  });

  it.each([
    'QQ',
    'QQ=',
    'Q===',
    '====',
    'QQ==QQ==',
    'QUJD=',
    'QU=D',
    'QUJD====',
    '=QUJ',
    'QUJ-',
    'QUJ_',
    'QUJ D',
    'QUJ\n',
    'QUJé',
    'QUJ\u0100',
  ])('refuses %j, as the regular expression does', (text) => {
    expect(REFERENCE.test(text)).toBe(false);
    expect(isBase64(text)).toBe(false);
  });

  it('agrees with the regular expression on random strings over the alphabet and its neighbours', () => {
    const characters = 'AZaz09+/=-_ .';
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let round = 0; round < 20_000; round++) {
      const length = next() % 13;
      const text = Array.from({ length }, () => characters[next() % characters.length]).join('');
      expect(isBase64(text)).toBe(REFERENCE.test(text));
    }
  });
});
