import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { Problem } from './problem.js';

/** A DTO class carrying its zod schema; the global pipe validates against it. */
export interface ZodDtoClass<T> {
  new (): T;
  schema: z.ZodType<T>;
}

export function zodDto<S extends z.ZodType>(schema: S): ZodDtoClass<z.infer<S>> {
  return class {
    static schema = schema;
  } as unknown as ZodDtoClass<z.infer<S>>;
}

/** Validates bodies, queries and params that have a DTO with a schema. Strict schemas reject unknown fields. */
@Injectable()
export class ZodValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const schema = (metadata.metatype as Partial<ZodDtoClass<unknown>> | undefined)?.schema;
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
}

function fieldName(location: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path.push(...issue.keys);
  return path.length ? path.join('.') : location;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding (RFC 4648 §4), decoded to bytes; optional exact or maximum length. */
export function base64Bytes(
  options: { length?: number; maxLength?: number; minLength?: number } = {},
) {
  return z
    .string()
    .regex(BASE64, 'must be base64 (RFC 4648, with padding)')
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

export const uuidString = () => z.uuid('must be a UUID');

/** Route params: a UUID or a 404-like 400 naming the parameter. */
export function parseUuidParam(name: string, value: string): string {
  if (!uuidString().safeParse(value).success) {
    throw Problem.badRequest('validation_failed', `${name}: must be a UUID`, {
      errors: [{ field: name, message: 'must be a UUID' }],
    });
  }
  return value;
}
