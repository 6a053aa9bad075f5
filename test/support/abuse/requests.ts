import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  base64OfWrongLength,
  badNumber,
  badPathSegment,
  malformedBase64,
  malformedJson,
  malformedUuid,
  notJsonContentType,
  oversizedString,
  upperCaseUnknownUuid,
  withControlCharacter,
  wrongType,
} from './generators.js';
import type { RawRequest } from './http.js';

// A route's valid request, described by the kind of each value, so that one
// mutation of it makes a request that is bad by construction.

export type Kind =
  /** `unknownIsBad`: an id of nothing that exists makes the request fail (404, 409, 410…). */
  | { kind: 'uuid'; unknownIsBad: boolean }
  | { kind: 'base64'; bytes?: number; minBytes?: number; maxBytes?: number }
  /** A display text (name, title): trimmed non-empty, at most `max` characters, no control characters. */
  | { kind: 'text'; max: number }
  | { kind: 'handle'; taken: string }
  /** A secret issued by the server (link code): any other string is bad. */
  | { kind: 'secret'; max: number }
  | { kind: 'integer'; max: number }
  | { kind: 'boolean' }
  /** Web Push's encoding: base64url of exactly `bytes` bytes. */
  | { kind: 'base64url'; bytes: number }
  /** A push endpoint: https, on a host the server may reach. */
  | { kind: 'pushEndpoint'; max: number }
  | {
      kind: 'array';
      of: Kind;
      min: number;
      /** More elements than this is bad (a configured maximum, or more than there is to name). */
      max: number;
      duplicatesBad: boolean;
      /** A well-formed element that is not one of the valid ones (for oversized arrays). */
      filler: () => unknown;
    }
  | { kind: 'object'; fields: Record<string, Kind>; optional?: string[] }
  /** Exactly one of the objects in `variants` (e.g. `to`: {accountId} or {conversationId}). */
  | { kind: 'oneOf'; variants: Record<string, Kind>[] };

export interface RouteTemplate {
  /** Path parameters: their kind and a valid value each. */
  params?: Record<string, { kind: Kind; valid: () => string }>;
  query?: Record<string, { kind: Kind; valid: () => string }>;
  body?: { kind: Kind & { kind: 'object' }; valid: () => Record<string, unknown> };
  /** The route needs the caller's token (unauthenticated routes are sent without one). */
  authenticated: boolean;
}

type Json = unknown;

/** Bad values of a kind; `valid` is the value the template had there. */
export function badValue(kind: Kind, valid: Json): fc.Arbitrary<Json> {
  switch (kind.kind) {
    case 'uuid':
      return fc.oneof(
        malformedUuid,
        wrongType('string'),
        ...(kind.unknownIsBad ? [upperCaseUnknownUuid, fc.uuid()] : []),
      );
    case 'base64': {
      const wrongLength =
        kind.bytes !== undefined
          ? base64OfWrongLength(kind.bytes)
          : fc
              .constantFrom(
                ...[
                  kind.minBytes !== undefined ? kind.minBytes - 1 : undefined,
                  kind.maxBytes !== undefined ? kind.maxBytes + 1 : undefined,
                ].filter((size): size is number => size !== undefined && size >= 0),
              )
              .map((size) => Buffer.alloc(size, 7).toString('base64'));
      return fc.oneof(malformedBase64, wrongLength, wrongType('string'));
    }
    case 'text':
      return fc.oneof(
        oversizedString(kind.max),
        withControlCharacter(String(valid)),
        fc.constantFrom('', ' ', '   ', '\u00a0'.trim()),
        wrongType('string'),
      );
    case 'handle':
      return fc.oneof(
        fc.string({ maxLength: 40 }).filter((text) => !/^[A-Za-z0-9_.-]{3,32}$/.test(text)),
        withControlCharacter(String(valid)),
        oversizedString(32),
        fc.constantFrom(kind.taken, kind.taken.toUpperCase()),
        wrongType('string'),
      );
    case 'secret':
      return fc.oneof(
        fc.string({ minLength: 1, maxLength: 40 }).filter((text) => text !== valid),
        withControlCharacter(String(valid)),
        oversizedString(kind.max),
        fc.constant(''),
        wrongType('string'),
      );
    case 'integer':
      return fc.oneof(badNumber(kind.max), wrongType('number'));
    case 'boolean':
      return fc.constantFrom<Json>('true', 'false', 1, 0, 'yes', null, [], {});
    case 'base64url':
      return fc.oneof(
        fc
          .integer({ min: 0, max: kind.bytes * 3 })
          .filter((size) => size !== kind.bytes)
          .map((size) => Buffer.alloc(size, 9).toString('base64url')),
        fc.constantFrom('not base64url!', '+/+/', '====', ''),
        wrongType('string'),
      );
    case 'pushEndpoint': {
      const port = new URL(String(valid)).port || '443';
      return fc.oneof(
        fc.constantFrom(
          String(valid).replace(/^https:/, 'http:'),
          `https://127.0.0.1:${port}/push`,
          'https://169.254.169.254/latest/meta-data',
          'https://10.1.2.3/push',
          'https://[::1]/push',
          'https://[fe80::1]/push',
          'file:///etc/passwd',
          'not a url',
          '',
        ),
        oversizedString(kind.max),
        wrongType('string'),
      );
    }
    case 'array':
      return badArray(kind, valid as Json[]);
    case 'object':
      return badObject(kind, valid as Record<string, Json>);
    case 'oneOf':
      return badOneOf(kind, valid as Record<string, Json>);
  }
}

function badArray(kind: Kind & { kind: 'array' }, valid: Json[]): fc.Arbitrary<Json> {
  const options: fc.Arbitrary<Json>[] = [
    wrongType('array'),
    // Too many: past the maximum by a little or by far.
    fc
      .oneof(fc.integer({ min: kind.max + 1, max: kind.max + 20 }), fc.constant(kind.max + 2000))
      .map((length) =>
        [...valid, ...Array.from({ length: length - valid.length }, kind.filler)].slice(0, length),
      ),
  ];
  if (kind.min > 0) options.push(fc.constant([]));
  if (kind.duplicatesBad && valid.length > 0) options.push(fc.constant([...valid, valid[0]]));
  if (valid.length > 0) {
    options.push(
      fc
        .tuple(fc.nat({ max: valid.length - 1 }), badValue(kind.of, valid[0]))
        .map(([at, bad]) => valid.map((element, index) => (index === at ? bad : element))),
    );
  } else {
    options.push(badValue(kind.of, kind.filler()).map((bad) => [bad]));
  }
  return fc.oneof(...options);
}

function badObject(
  kind: Kind & { kind: 'object' },
  valid: Record<string, Json>,
): fc.Arbitrary<Json> {
  const names = Object.keys(kind.fields);
  const required = names.filter((name) => !kind.optional?.includes(name));
  const options: fc.Arbitrary<Json>[] = [
    wrongType('object'),
    // An unknown member (strict objects refuse them), also one that shadows a prototype name.
    fc
      .tuple(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 12 }).filter((name) => !names.includes(name)),
          fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'),
        ),
        fc.jsonValue({ maxDepth: 1 }),
      )
      .map(([name, value]) => {
        const copy: Record<string, Json> = { ...valid };
        Object.defineProperty(copy, name, {
          value,
          enumerable: true,
          configurable: true,
          writable: true,
        });
        return copy;
      }),
    // One member bad.
    fc.constantFrom(...names).chain((name) => {
      const fieldValid = valid[name] ?? exampleOf(kind.fields[name]);
      return badValue(kind.fields[name], fieldValid).map((bad) => ({ ...valid, [name]: bad }));
    }),
  ];
  if (required.length > 0) {
    options.push(
      fc.constantFrom(...required).map((name) => {
        const copy = { ...valid };
        delete copy[name];
        return copy;
      }),
    );
  }
  return fc.oneof(...options);
}

function badOneOf(kind: Kind & { kind: 'oneOf' }, valid: Record<string, Json>): fc.Arbitrary<Json> {
  const variant =
    kind.variants.find((fields) => Object.keys(fields).every((name) => name in valid)) ??
    kind.variants[0];
  const all = Object.assign(
    {},
    ...kind.variants.map((fields) =>
      Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, exampleOf(field)])),
    ),
  ) as Record<string, Json>;
  return fc.oneof(
    fc.constant({}),
    fc.constant(all), // more than one
    badObject({ kind: 'object', fields: variant }, valid),
  );
}

function exampleOf(kind: Kind): Json {
  switch (kind.kind) {
    case 'uuid':
      return randomUUID();
    case 'integer':
      return 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return 'x';
  }
}

/** The valid request of a template, as the generators start from it. */
function validParts(template: RouteTemplate) {
  const params = Object.fromEntries(
    Object.entries(template.params ?? {}).map(([name, param]) => [name, param.valid()]),
  );
  const query = Object.fromEntries(
    Object.entries(template.query ?? {}).map(([name, param]) => [name, param.valid()]),
  );
  return { params, query, body: template.body?.valid() };
}

function buildPath(
  url: string,
  params: Record<string, string>,
  query: Record<string, string> | string,
): string {
  const path = url.replace(/:([A-Za-z]+)/g, (_match, name: string) => params[name]);
  const search = typeof query === 'string' ? query : new URLSearchParams(query).toString();
  return search ? `${path}?${search}` : path;
}

const encode = (value: Json) =>
  typeof value === 'string' ? encodeURIComponent(value) : encodeURIComponent(JSON.stringify(value));

/**
 * Requests to one route that are bad by construction: the route's valid
 * request with exactly one thing broken (a path parameter, a query value, a
 * body member, the JSON text, the content type, or the body's presence).
 * `token` is sent on authenticated routes.
 */
export function badRequests(
  route: { method: string; url: string },
  template: RouteTemplate | undefined,
  token: () => string,
): Record<string, fc.Arbitrary<RawRequest>> {
  const base = template ?? { authenticated: false };
  const headers = (contentType?: string): Record<string, string> => ({
    ...(base.authenticated ? { authorization: `Bearer ${token()}` } : {}),
    ...(contentType ? { 'content-type': contentType } : {}),
  });
  const takesBody = base.body !== undefined;
  const request = (
    parts: ReturnType<typeof validParts>,
    path = buildPath(route.url, encodeAll(parts.params), parts.query),
  ): RawRequest => ({
    method: route.method,
    path,
    headers: headers(takesBody ? 'application/json' : undefined),
    body: takesBody ? JSON.stringify(parts.body) : undefined,
  });
  const options: Record<string, fc.Arbitrary<RawRequest>> = {};

  // Path parameters: generated from the route's own `:name` segments, so a route without a template gets them too.
  const paramNames = [...route.url.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1]);
  const withParam = (name: string, bad: string): RawRequest => {
    const parts = validParts(base);
    for (const other of paramNames) parts.params[other] ??= randomUUID();
    const params = encodeAll(parts.params);
    params[name] = bad;
    return request(parts, buildPath(route.url, params, parts.query));
  };
  if (paramNames.length > 0) {
    options['broken percent-encoding in a path parameter'] = fc
      .tuple(fc.constantFrom(...paramNames), badPathSegment)
      .map(([name, bad]) => withParam(name, bad));
    options['a bad path parameter'] = fc.constantFrom(...paramNames).chain((name) => {
      const param = base.params?.[name];
      const bad = param ? badValue(param.kind, param.valid()) : malformedUuid;
      return bad.map((value) => withParam(name, encode(value)));
    });
  }

  for (const [name, param] of Object.entries(base.query ?? {})) {
    options[`a bad query value (${name})`] = fc
      .oneof(
        badValue(param.kind, param.valid())
          .filter((bad) => !isValidQueryValue(param.kind, bad))
          .map((bad) => `${name}=${encode(bad)}`),
        fc.constantFrom(
          `${name}=`,
          `${name}`,
          `${name}=%zz`,
          `${name}=1&${name}=2`,
          `${name}=5&extra=1`,
          `${name}[]=5`,
          `${name}[a]=5`,
        ),
      )
      .map((search) =>
        request(validParts(base), buildPath(route.url, encodeAll(validParts(base).params), search)),
      );
  }

  const bodyTemplate = base.body;
  if (bodyTemplate) {
    // One member of the body bad (or missing, or one too many).
    options['a bad body member'] = fc.constant(null).chain(() => {
      const parts = validParts(base);
      return badValue(bodyTemplate.kind, parts.body).map((bad) =>
        request({ ...parts, body: bad as Record<string, unknown> }),
      );
    });
    options['malformed JSON'] = fc.constant(null).chain(() => {
      const parts = validParts(base);
      return malformedJson(JSON.stringify(parts.body)).map((text) => ({
        ...request(parts),
        body: text,
      }));
    });
    // A valid body under another content type, or none.
    options['a valid body that is not sent as JSON'] = fc
      .oneof(
        notJsonContentType.map((type): string | undefined => type),
        fc.constant(undefined),
      )
      .map((type) => {
        const valid = request(validParts(base));
        return { ...valid, headers: headers(type) };
      });
    options['an empty body'] = fc
      .constantFrom('', ' ', '\n')
      .map((text) => ({ ...request(validParts(base)), body: text }));
  } else if (route.method !== 'GET' && route.method !== 'HEAD') {
    // A route that takes no body still refuses a broken JSON one.
    options['malformed JSON'] = malformedJson('{"a":1}')
      .filter((text) => text.trim() !== '')
      .map((text) => ({
        ...request(validParts(base)),
        headers: headers('application/json'),
        body: text,
      }));
  }
  // Empty when there is nothing to break (no parameter, query or body).
  return options;
}

function encodeAll(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [name, encodeURIComponent(value)]),
  );
}

// A query value arrives as text and is coerced: " 5" or "0x10" are numbers there.
function isValidQueryValue(kind: Kind, value: Json): boolean {
  if (kind.kind !== 'integer') return false;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const number = Number(text);
  return Number.isInteger(number) && number >= 1 && number <= kind.max;
}
