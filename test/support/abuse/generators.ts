import { randomUUID } from 'node:crypto';
import fc from 'fast-check';

// Generators of values that are bad wherever the protocol expects a certain
// kind of value. Each is bad by construction for its kind; the route
// templates (routes.ts) say which kind each field is.

/** How many runs each property makes: ABUSE_RUNS (npm run abuse raises it). */
export function abuseRuns(fallback: number): number {
  const runs = Number(process.env.ABUSE_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : fallback;
}

const HEX = '0123456789abcdef';
const hexString = (length: number) =>
  fc.string({ unit: fc.constantFrom(...HEX), minLength: length, maxLength: length });

/** C0 control characters and DEL: refused in every text field. */
export const controlCharacter = fc
  .integer({ min: 0, max: 0x20 })
  .map((code) => String.fromCharCode(code === 0x20 ? 0x7f : code));

/** A text with a control character somewhere in it. */
export const withControlCharacter = (valid: string) =>
  fc
    .tuple(fc.nat({ max: valid.length }), controlCharacter)
    .map(([at, control]) => `${valid.slice(0, at)}${control}${valid.slice(at)}`);

/** Strings that are not UUIDs in the 8-4-4-4-12 hex form. */
export const malformedUuid: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'null',
    'undefined',
    '0',
    '-1',
    '00000000-0000-0000-0000-00000000000',
    '00000000-0000-0000-0000-0000000000000',
    '00000000000000000000000000000000',
    'g0000000-0000-4000-8000-000000000000',
    '{00000000-0000-4000-8000-000000000000}',
    'urn:uuid:00000000-0000-4000-8000-000000000000',
    '00000000-0000-4000-8000-000000000000\n',
    ' 00000000-0000-4000-8000-000000000000',
    '00000000-0000-4000-8000-00000000000\u0000',
    '٠٠٠٠٠٠٠٠-٠٠٠٠-٤٠٠٠-٨٠٠٠-٠٠٠٠٠٠٠٠٠٠٠٠',
  ),
  // A real UUID with one character dropped, doubled or replaced by a non-hex one.
  fc
    .tuple(
      fc.nat({ max: 35 }),
      fc.constantFrom('drop', 'double', 'replace'),
      fc.constantFrom('g', 'z', '-', '_', ' ', '\u0000', 'é'),
    )
    .map(([at, how, char]) => {
      const uuid = randomUUID();
      if (how === 'drop') return uuid.slice(0, at) + uuid.slice(at + 1);
      if (how === 'double') return uuid.slice(0, at) + uuid[at] + uuid.slice(at);
      const replaced = uuid.slice(0, at) + char + uuid.slice(at + 1);
      return replaced === uuid ? `${uuid}x` : replaced;
    }),
  fc.string({ maxLength: 64 }).filter((text) => !UUID.test(text)),
  hexString(36),
);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID of nothing that exists, in upper case (refused, or a 404 for an unknown id). */
export const upperCaseUnknownUuid = fc.constant(null).map(() => randomUUID().toUpperCase());

/** Strings that are not standard padded base64 (RFC 4648 §4). */
export const malformedBase64: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '=',
    '==',
    'A',
    'AB',
    'ABC',
    'A===',
    '====',
    'AB=C',
    'ABCD=',
    'AB==CD==',
    '!!!!',
    'ab cd',
    'ab\ncd==',
  ),
  // Valid base64 made bad: url-safe alphabet, padding stripped, whitespace or NUL inside.
  fc.uint8Array({ minLength: 1, maxLength: 96 }).chain((bytes) => {
    const text = Buffer.from(bytes).toString('base64');
    return fc.constantFrom(
      `${text}\u0000`,
      ` ${text}`,
      `${text}\n`,
      `${text.slice(0, 2)}-_${text.slice(2)}`,
      `${text}=`,
      `${text}é`,
      text.replace(/=+$/, '') + (text.endsWith('=') ? '' : '!'),
    );
  }),
);

/** Valid base64 of a byte length other than `length`. */
export const base64OfWrongLength = (length: number) =>
  fc
    .integer({ min: 0, max: length * 3 })
    .filter((size) => size !== length)
    .chain((size) => fc.uint8Array({ minLength: size, maxLength: size }))
    .map((bytes) => Buffer.from(bytes).toString('base64'));

/** JSON values of every type but the one expected (`kind`). */
export const wrongType = (kind: 'string' | 'number' | 'object' | 'array') =>
  fc.oneof(
    ...[
      kind !== 'string' ? fc.string({ maxLength: 8 }) : undefined,
      kind !== 'number'
        ? fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))
        : undefined,
      fc.boolean(),
      fc.constant(null),
      kind !== 'array' ? fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }) : undefined,
      kind !== 'object'
        ? fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 })
        : undefined,
    ].filter((arbitrary) => arbitrary !== undefined),
  );

/** Numbers that no count, limit or TTL takes. */
export const badNumber = (maximum: number) =>
  fc.oneof(
    fc.constantFrom(
      0,
      -1,
      -0.5,
      0.5,
      1.5,
      maximum + 1,
      2 ** 53,
      2 ** 53 + 2,
      1e21,
      1e308,
      -1e308,
      Number.MIN_VALUE,
    ),
    fc.integer({ min: -(2 ** 31), max: 0 }),
    fc.integer({ min: maximum + 1, max: 2 ** 31 }),
    fc.double({ min: 0.01, max: maximum, noNaN: true }).filter((value) => !Number.isInteger(value)),
  );

/**
 * A string longer than `maximum` characters (a few times over, or far over).
 * Characters are code points, as the server's schemas count them: an emoji
 * is one, though it takes two UTF-16 units.
 */
export const oversizedString = (maximum: number) =>
  fc
    .tuple(
      fc.integer({ min: maximum + 1, max: maximum * 4 + 64 }),
      fc.constantFrom('a', 'é', '😀', 'A'),
    )
    .map(([length, char]) => char.repeat(length));

/** Path segments with broken or hostile percent-encoding. */
export const badPathSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '%',
    '%z',
    '%zz',
    '%0',
    '%g0',
    '%c3%28',
    '%ff%fe',
    '%ed%a0%80',
    '%00',
    '%0a',
    '%7f',
    '%%',
    '%25%',
    '%u0041',
    'a%',
    '%2',
    '%2e%2e',
    '..%2f..',
    '%c0%af',
  ),
  fc
    .tuple(
      fc.string({ unit: fc.constantFrom('a', '0', '-'), maxLength: 8 }),
      fc.constantFrom('%', '%z', '%zz', '%0', '%c3'),
    )
    .map(([text, broken]) => `${text}${broken}`),
);

/** Malformed JSON texts (some close to valid). */
export const malformedJson = (valid: string) =>
  fc
    .oneof(
      fc.constantFrom(
        '{',
        '}',
        '[',
        '{"',
        '{"a":}',
        '{a:1}',
        "{'a':1}",
        '{"a":1,}',
        '[1,]',
        'nul',
        'tru',
        '{"a":1}}',
        '\u0000',
        '{"a":"\u0000',
        '{"a":01}',
        '{"a":1e}',
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":"\\x00"}',
        '{"a":"\\u12"}',
      ),
      // The valid body cut short, or with a stray character inside.
      fc.nat({ max: Math.max(0, valid.length - 1) }).map((at) => valid.slice(0, at)),
      fc
        .tuple(fc.nat({ max: valid.length }), fc.constantFrom('}', '{', ',', '"', ':', '\\', 'x'))
        .map(([at, char]) => `${valid.slice(0, at)}${char}${valid.slice(at)}`),
    )
    .filter((text) => !parses(text));

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Content types other than JSON, for a JSON body. */
export const notJsonContentType = fc.constantFrom(
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  'application/jsonx',
  'image/png',
  'json',
  'application/problem+xml',
);
