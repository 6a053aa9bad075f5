import type { IncomingHttpHeaders } from 'node:http';
import { Problem, problemBody } from '../common/problem.js';
import { bearerToken } from '../identity/auth.guard.js';

/** What the stream takes from a well-formed upgrade request. */
export interface StreamUpgrade {
  ok: true;
  token: string | undefined;
}

/** Why an upgrade request is refused before anything else is spent on it. */
export interface UpgradeRefusal {
  ok: false;
  status: number;
  code: string;
  detail: string;
  headers?: Record<string, string>;
}

// Longer targets are refused (a token is some 80 characters).
export const MAX_UPGRADE_TARGET_LENGTH = 4096;
// RFC 6455 4.1: the key is 16 random bytes in base64.
const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{22}==$/;

function refusal(
  status: number,
  code: string,
  detail: string,
  headers?: Record<string, string>,
): UpgradeRefusal {
  return { ok: false, status, code, detail, headers };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Checks an upgrade request to `path` the way RFC 6455 4.2.1 asks, without
 * ever throwing: whatever the client wrote (a request target in absolute
 * form with a bad port, bad percent-encoding, a missing header) ends in a
 * refusal with its status.
 */
export function checkUpgradeRequest(
  path: string,
  method: string | undefined,
  target: string | undefined,
  headers: IncomingHttpHeaders,
): StreamUpgrade | UpgradeRefusal {
  if (!target || target.length > MAX_UPGRADE_TARGET_LENGTH)
    return refusal(
      414,
      'uri_too_long',
      `The request target is at most ${MAX_UPGRADE_TARGET_LENGTH} characters`,
    );
  let url: URL;
  try {
    // Origin form ("/v1/stream?…") or absolute form ("http://host/v1/stream").
    url = target.startsWith('/') ? new URL(target, 'http://localhost') : new URL(target);
  } catch {
    return refusal(400, 'bad_request_target', 'The request target is not a valid URL');
  }
  if (url.pathname !== path) return refusal(404, 'not_found', 'No such WebSocket endpoint');
  if (method !== 'GET')
    return refusal(405, 'method_not_allowed', 'A WebSocket upgrade is a GET', { Allow: 'GET' });
  if (!headers.host) return refusal(400, 'missing_host', 'An HTTP/1.1 request names its Host');
  if (single(headers.upgrade)?.toLowerCase() !== 'websocket')
    return refusal(400, 'bad_upgrade', 'Upgrade must be websocket');
  if (single(headers['sec-websocket-version']) !== '13') {
    return refusal(426, 'websocket_version', 'Only WebSocket version 13 is spoken', {
      'Sec-WebSocket-Version': '13',
    });
  }
  if (!WEBSOCKET_KEY.test(single(headers['sec-websocket-key']) ?? ''))
    return refusal(400, 'bad_websocket_key', 'Sec-WebSocket-Key must be 16 bytes in base64');
  let token = bearerToken(headers.authorization);
  if (token === undefined) {
    try {
      token = url.searchParams.get('token') ?? undefined;
    } catch {
      return refusal(400, 'bad_request_target', 'The query string cannot be read');
    }
  }
  return { ok: true, token };
}

/** The raw HTTP answer to a refused upgrade: problem+json, and the connection closes. */
export function refusalResponse(refused: UpgradeRefusal): string {
  const title = STATUS_TEXT[refused.status] ?? 'Error';
  const body = JSON.stringify(
    problemBody(new Problem(refused.status, refused.code, title, refused.detail)),
  );
  const headers = {
    'Content-Type': 'application/problem+json',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...refused.headers,
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${refused.status} ${title}\r\n${lines.join('')}\r\n${body}`;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  414: 'URI Too Long',
  426: 'Upgrade Required',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
