import type { Logger } from '@nestjs/common';
import { toProblem } from './problem.filter.js';

const quiet = { warn: () => undefined, error: () => undefined } as unknown as Logger;
const pgError = (code: string, message = 'from PostgreSQL') =>
  Object.assign(new Error(message), { code });

describe('toProblem, for a dependency that cannot serve now', () => {
  it.each([
    ['a statement cancelled by statement_timeout', pgError('57014')],
    ['a lock not granted within lock_timeout', pgError('55P03')],
    ['a deadlock', pgError('40P01')],
    ['too many connections', pgError('53300')],
    ['out of memory', pgError('53200')],
    ['an administrator shutdown', pgError('57P01')],
    ['a server starting up', pgError('57P03')],
    ['the pool’s connect timeout', new Error('timeout exceeded when trying to connect')],
    ['the client’s query timeout', new Error('Query read timeout')],
    ['a refused connection', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })],
    ['a wrapped driver error', new Error('Failed query', { cause: pgError('57014') })],
    [
      'Redis full (maxmemory, noeviction)',
      new Error("OOM command not allowed when used memory > 'maxmemory'."),
    ],
    [
      'a pg client cut mid-restart',
      new Error('Client has encountered a connection error and is not queryable'),
    ],
  ])('answers %s with 503 and Retry-After', (_case, error) => {
    const problem = toProblem(error, quiet);
    expect(problem).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect(Number(problem.headers['Retry-After'])).toBeGreaterThan(0);
  });

  it.each([
    ['a unique violation', pgError('23505')],
    ['a plain bug', new TypeError('x is undefined')],
  ])('still answers %s with 500 (control)', (_case, error) => {
    expect(toProblem(error, quiet)).toMatchObject({ status: 500, code: 'internal_error' });
  });
});
