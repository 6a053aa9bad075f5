import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { type Env, loadEnv } from '../config/env.js';
import { Problem } from './problem.js';

/** A DTO class carrying its zod schema; the global pipe validates against it. */
export interface ZodDtoClass<T> {
  new (): T;
  /** The schema (under the default configuration, for one whose limits are configured). */
  schema: z.ZodType<T>;
  /** For a schema whose limits come from the configuration: the schema under `env`. */
  schemaFor?: (env: Env) => z.ZodType<T>;
}

export function zodDto<S extends z.ZodType>(schema: S): ZodDtoClass<z.infer<S>> {
  return class {
    static schema = schema;
  } as unknown as ZodDtoClass<z.infer<S>>;
}

/** A DTO whose schema depends on the configuration (a limit that follows from env variables). */
export function configuredZodDto<S extends z.ZodType>(
  build: (env: Env) => S,
): ZodDtoClass<z.infer<S>> {
  return class {
    // What the HTTP reference documents: the schema under the defaults.
    static schema = build(loadEnv({}));
    static schemaFor = build;
  } as unknown as ZodDtoClass<z.infer<S>>;
}

/** Validates bodies, queries and params that have a DTO with a schema. Strict schemas reject unknown fields. */
@Injectable()
export class ZodValidationPipe implements PipeTransform {
  private readonly configured = new WeakMap<object, z.ZodType>();

  /** `env` gives the limits of configured DTOs; without it they validate under the defaults. */
  constructor(private readonly env?: Env) {}

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const schema = this.schemaOf(metadata.metatype as Partial<ZodDtoClass<unknown>> | undefined);
    if (!schema) return value;
    const parsed = schema.safeParse(value ?? (metadata.type === 'body' ? undefined : {}));
    if (parsed.success) return parsed.data;
    const errors = parsed.error.issues.map((issue) => ({
      field: fieldName(metadata.type, issue),
      message: issue.message,
    }));
    throw Problem.badRequest(
      'validation_failed',
      errors.map((error) => `${error.field}: ${error.message}`).join('; '),
      { errors },
    );
  }

  private schemaOf(dto: Partial<ZodDtoClass<unknown>> | undefined): z.ZodType | undefined {
    if (!dto?.schemaFor || !this.env) return dto?.schema;
    let schema = this.configured.get(dto);
    if (!schema) {
      schema = dto.schemaFor(this.env);
      this.configured.set(dto, schema);
    }
    return schema;
  }
}

function fieldName(location: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path.push(...issue.keys);
  return path.length ? path.join('.') : location;
}

/** Standard base64 with padding, as a pattern: what isBase64 accepts. */
export const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';

// Which character codes are in the base64 alphabet (RFC 4648 §4).
const BASE64_ALPHABET = new Uint8Array(128);
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')
  BASE64_ALPHABET[char.charCodeAt(0)] = 1;

/**
 * Standard base64 with padding: whole quads of the alphabet, the last one
 * ending in at most two '='. A loop rather than a regex: bodies are up to
 * 256 KiB, and the regex was a visible share of a send's CPU.
 */
export function isBase64(text: string): boolean {
  if (text.length % 4 !== 0) return false;
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 61) end--; // '='
  if (end > 0 && text.charCodeAt(end - 1) === 61 && end === text.length - 1) end--;
  if (text.length - end > 0 && end % 4 < 2) return false; // '=' may only pad 2 or 3 characters
  for (let index = 0; index < end; index++) {
    const code = text.charCodeAt(index);
    if (code > 127 || BASE64_ALPHABET[code] === 0) return false;
  }
  return true;
}

/** Standard base64 with padding (RFC 4648 §4), decoded to bytes; optional exact or maximum length. */
export function base64Bytes(
  options: { length?: number; maxLength?: number; minLength?: number } = {},
) {
  // The pattern repeats the rule for the HTTP reference (docs/openapi.json).
  return z
    .string()
    .refine(isBase64, 'must be base64 (RFC 4648, with padding)')
    .meta({ pattern: BASE64_PATTERN })
    .transform((text, context) => {
      const bytes = Buffer.from(text, 'base64');
      const { length, maxLength, minLength } = options;
      if (length !== undefined && bytes.length !== length) {
        context.addIssue({ code: 'custom', message: `must decode to ${length} bytes` });
      } else if (maxLength !== undefined && bytes.length > maxLength) {
        context.addIssue({ code: 'custom', message: `must decode to at most ${maxLength} bytes` });
      } else if (minLength !== undefined && bytes.length < minLength) {
        context.addIssue({ code: 'custom', message: `must decode to at least ${minLength} bytes` });
      }
      return bytes;
    });
}

const UUID_STRING = z.uuid('must be a UUID').toLowerCase();

/**
 * A UUID, lower-cased: ids are compared as strings in memory, in Redis keys
 * and in tokens, so every id is made canonical where it enters. One schema,
 * built once: zod schemas are immutable, and building one per call (every
 * authenticated request parses its token's device id) was a few per cent of
 * the API's CPU in the ingest benchmark's profile.
 */
export const uuidString = () => UUID_STRING;

/** Route params: a UUID (lower-cased) or a 400 naming the parameter. */
export function parseUuidParam(name: string, value: string): string {
  const parsed = uuidString().safeParse(value);
  if (!parsed.success) {
    throw Problem.badRequest('validation_failed', `${name}: must be a UUID`, {
      errors: [{ field: name, message: 'must be a UUID' }],
    });
  }
  return parsed.data;
}

// Names and titles are one line of text shown to people: control characters
// (C0, DEL, C1), line and paragraph separators, and the bidirectional
// embeddings, overrides and isolates (which reorder what a client shows after
// them) are refused, and so is a lone surrogate (\p{Cs}: not text, and
// stored as U+FFFD). The marks LRM, RLM and ALM and the joiners ZWJ and ZWNJ stay:
// names in mixed scripts and emoji need them.
const REFUSED_IN_TEXT = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u;

/** One line of text for people to read (a device name, a title): no control characters. */
export function displayText(maxLength: number) {
  return z
    .string()
    .refine(
      (text) => !REFUSED_IN_TEXT.test(text),
      'must not contain control, line-separator or bidirectional-override characters',
    )
    .trim()
    .min(1)
    .max(maxLength);
}
