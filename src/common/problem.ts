/**
 * A domain error that becomes an RFC 9457 problem+json answer. `code` is
 * stable: clients switch on it. `extra` members are added to the body, so
 * they must never carry a message body, a key or a token.
 */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }

  static badRequest(code: string, detail: string, extra?: Record<string, unknown>): Problem {
    return new Problem(400, code, 'Bad request', detail, extra);
  }
  static unauthorized(code: string, detail: string): Problem {
    return new Problem(401, code, 'Unauthorized', detail);
  }
  static forbidden(code: string, detail: string): Problem {
    return new Problem(403, code, 'Forbidden', detail);
  }
  static notFound(code: string, detail: string, extra?: Record<string, unknown>): Problem {
    return new Problem(404, code, 'Not found', detail, extra);
  }
  static conflict(code: string, detail: string, extra?: Record<string, unknown>): Problem {
    return new Problem(409, code, 'Conflict', detail, extra);
  }
  static tooManyRequests(retryAfterSeconds: number): Problem {
    return new Problem(
      429,
      'rate_limited',
      'Too many requests',
      `Try again in ${retryAfterSeconds} s`,
      {},
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
  static unavailable(detail: string, retryAfterSeconds = 5): Problem {
    return new Problem(
      503,
      'service_unavailable',
      'Service unavailable',
      detail,
      {},
      {
        'Retry-After': String(retryAfterSeconds),
      },
    );
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  [member: string]: unknown;
}

export function problemBody(problem: Problem): ProblemBody {
  return {
    type: `https://supernode.dev/problems/${problem.code.replaceAll('_', '-')}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    code: problem.code,
    ...problem.extra,
  };
}
