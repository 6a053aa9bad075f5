import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { describeError, rootCause } from './describe-error.js';
import { Problem, problemBody } from './problem.js';
import { isUnavailable } from './unavailable.js';

/** Maps every error to application/problem+json; unknown errors become a bare 500. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemFilter.name);

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    sendProblem(reply, toProblem(error, this.logger));
  }
}

export function sendProblem(reply: FastifyReply, problem: Problem): void {
  void reply
    .status(problem.status)
    .headers(problem.headers)
    .header('content-type', 'application/problem+json')
    .send(JSON.stringify(problemBody(problem)));
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
}

export function toProblem(thrown: unknown, logger: Logger): Problem {
  if (thrown instanceof Problem) return thrown;
  const error = rootCause(thrown);
  if (error instanceof HttpException) return fromHttpException(error);
  const fastifyError = error as FastifyLikeError;
  if (fastifyError?.code === 'FST_ERR_BAD_URL') {
    return Problem.badRequest('malformed_url', 'The URL is not validly percent-encoded');
  }
  if (fastifyError?.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new Problem(414, 'uri_too_long', 'URI too long', 'A path segment is too long');
  }
  if (fastifyError?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new Problem(413, 'body_too_large', 'Payload too large', 'The request body is too large');
  }
  if (fastifyError?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new Problem(
      415,
      'unsupported_media_type',
      'Unsupported media type',
      'Send application/json',
    );
  }
  if (fastifyError?.code?.startsWith('FST_ERR_CTP_') || error instanceof SyntaxError) {
    return Problem.badRequest('malformed_json', 'The request body is not valid JSON');
  }
  // Any other refusal of fastify's own: its message may quote the URL, so it is not echoed.
  const status = fastifyError?.statusCode;
  if (fastifyError?.code?.startsWith('FST_ERR_') && status && status >= 400 && status < 500) {
    return new Problem(status, 'bad_request', 'Bad request', 'The request was refused');
  }
  if (isUnavailable(error)) {
    logger.warn({ error: describeError(error) }, 'dependency unavailable');
    return Problem.unavailable('A backing service is unavailable');
  }
  // Only the error's class and message are logged: never request data.
  logger.error(
    { error: describeError(error), stack: error instanceof Error ? error.stack : undefined },
    'unhandled error',
  );
  return new Problem(500, 'internal_error', 'Internal server error', 'Something went wrong');
}

function fromHttpException(error: HttpException): Problem {
  const status = error.getStatus();
  // Nest turns fastify's body-parsing failures into HttpExceptions.
  if (status === 400 && /JSON/i.test(error.message)) {
    return Problem.badRequest('malformed_json', 'The request body is not valid JSON');
  }
  const known: Record<number, [string, string]> = {
    404: ['not_found', 'Not found'],
    405: ['method_not_allowed', 'Method not allowed'],
    413: ['body_too_large', 'Payload too large'],
    415: ['unsupported_media_type', 'Unsupported media type'],
  };
  const [code, title] = known[status] ?? [`http_${status}`, error.name];
  return new Problem(status, code, title, error.message);
}
