import { BASE64_PATTERN, displayText, isBase64, parseUuidParam, uuidString } from './validation.js';

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

describe('ids and text are canonical before use', () => {
  it('lower-cases a UUID in a body and in a path', () => {
    const upper = 'A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D';
    expect(uuidString().parse(upper)).toBe(upper.toLowerCase());
    expect(parseUuidParam('deviceId', upper)).toBe(upper.toLowerCase());
  });

  it.each([
    ['NUL', 'pho\u0000ne'],
    ['a tab', 'pho\tne'],
    ['a line feed', 'phone\n'],
    ['DEL', 'phone\u007f'],
    ['C1 NEL', 'phone\u0085'],
    ['the line separator', 'pho\u2028ne'],
    ['the paragraph separator', 'pho\u2029ne'],
    ['a right-to-left override', '\u202Eenohp'],
    ['a left-to-right isolate', '\u2066phone'],
    ['a lone surrogate', 'phone\ud800'],
  ])('refuses %s in a name', (_what, name) => {
    expect(displayText(64).safeParse(name).success).toBe(false);
  });

  it('keeps what names in any script and emoji need, trimmed', () => {
    const name = ' Ana\u2019s \u05E9\u05DC\u05D5\u05DD\u200F 👨‍👩‍👧 ';
    expect(displayText(64).parse(name)).toBe(name.trim());
  });
});
