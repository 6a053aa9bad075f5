/** A problem+json answer from the server, typed by its stable `code`. */
export class SupernodeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string | undefined,
    readonly problem: Record<string, unknown>,
  ) {
    super(`${status} ${code}${detail ? `: ${detail}` : ''}`);
    this.name = new.target.name;
  }
}

export class ValidationError extends SupernodeError {}
export class MalformedJsonError extends SupernodeError {}
export class UnauthorizedError extends SupernodeError {}
export class ForbiddenError extends SupernodeError {}
export class NotFoundError extends SupernodeError {}
export class HandleTakenError extends SupernodeError {}
export class SignatureInvalidError extends SupernodeError {}
export class ChallengeInvalidError extends SupernodeError {}
export class LinkCodeInvalidError extends SupernodeError {}
export class TooManyDevicesError extends SupernodeError {}
export class RateLimitedError extends SupernodeError {
  get retryAfterSeconds(): number {
    return Number(this.problem.retryAfter ?? 1);
  }
}
export class DevicesMissingError extends SupernodeError {}
export class DevicesStaleError extends SupernodeError {}
export class BodyTooLargeError extends SupernodeError {}
export class ServiceUnavailableError extends SupernodeError {}

const ERROR_BY_CODE: Record<string, typeof SupernodeError> = {
  validation_failed: ValidationError,
  malformed_json: MalformedJsonError,
  token_invalid: UnauthorizedError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  device_not_found: NotFoundError,
  account_not_found: NotFoundError,
  conversation_not_found: NotFoundError,
  message_not_found: NotFoundError,
  handle_taken: HandleTakenError,
  signature_invalid: SignatureInvalidError,
  challenge_invalid: ChallengeInvalidError,
  link_code_invalid: LinkCodeInvalidError,
  too_many_devices: TooManyDevicesError,
  rate_limited: RateLimitedError,
  devices_missing: DevicesMissingError,
  devices_stale: DevicesStaleError,
  body_too_large: BodyTooLargeError,
  service_unavailable: ServiceUnavailableError,
  not_ready: ServiceUnavailableError,
};

// Codes not listed above still get the class of their status.
const ERROR_BY_STATUS: Record<number, typeof SupernodeError> = {
  400: ValidationError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  413: BodyTooLargeError,
  429: RateLimitedError,
  503: ServiceUnavailableError,
};

export function errorFromProblem(
  status: number,
  problem: Record<string, unknown>,
  retryAfter?: string | null,
): SupernodeError {
  const code = typeof problem.code === 'string' ? problem.code : `http_${status}`;
  const ErrorClass = ERROR_BY_CODE[code] ?? ERROR_BY_STATUS[status] ?? SupernodeError;
  const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
  return new ErrorClass(status, code, detail, retryAfter ? { ...problem, retryAfter } : problem);
}
