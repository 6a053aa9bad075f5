import { checkUpgradeRequest, refusalResponse } from './upgrade-request.js';

const PATH = '/v1/stream';
const good = {
  host: 'example.org',
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
};

describe('checkUpgradeRequest', () => {
  it('takes a well-formed upgrade, with the token from the header or the query', () => {
    expect(
      checkUpgradeRequest(PATH, 'GET', PATH, { ...good, authorization: 'Bearer abc' }),
    ).toEqual({ ok: true, token: 'abc' });
    expect(checkUpgradeRequest(PATH, 'GET', `${PATH}?token=xyz`, good)).toEqual({
      ok: true,
      token: 'xyz',
    });
    expect(checkUpgradeRequest(PATH, 'GET', `http://host${PATH}`, good)).toEqual({
      ok: true,
      token: undefined,
    });
  });

  it.each([
    ['an absolute target with a port out of range', 'GET', 'http://x:99999/v1/stream', good, 400],
    ['an absolute target that is no URL', 'GET', 'http://[::1/v1/stream', good, 400],
    ['another path', 'GET', '/v1/other', good, 404],
    ['a target past the length limit', 'GET', `${PATH}?token=${'a'.repeat(5000)}`, good, 414],
    ['a POST', 'POST', PATH, good, 405],
    ['another protocol', 'GET', PATH, { ...good, upgrade: 'h2c' }, 400],
    ['no version', 'GET', PATH, { ...good, 'sec-websocket-version': undefined }, 426],
    ['version 8', 'GET', PATH, { ...good, 'sec-websocket-version': '8' }, 426],
    ['no Host', 'GET', PATH, { ...good, host: undefined }, 400],
    ['no key', 'GET', PATH, { ...good, 'sec-websocket-key': undefined }, 400],
    ['a key of the wrong length', 'GET', PATH, { ...good, 'sec-websocket-key': 'c2hvcnQ=' }, 400],
  ])('refuses %s', (_case, method, target, headers, status) => {
    expect(checkUpgradeRequest(PATH, method, target, headers)).toMatchObject({ ok: false, status });
  });

  it('answers a refusal with problem+json and closes the connection', () => {
    const refused = checkUpgradeRequest(PATH, 'GET', PATH, {
      ...good,
      'sec-websocket-version': '8',
    });
    if (refused.ok) throw new Error('expected a refusal');
    const response = refusalResponse(refused);
    const [head, body] = response.split('\r\n\r\n');
    expect(head.split('\r\n')).toEqual(
      expect.arrayContaining([
        'HTTP/1.1 426 Upgrade Required',
        'Content-Type: application/problem+json',
        'Connection: close',
        'Sec-WebSocket-Version: 13',
        `Content-Length: ${Buffer.byteLength(body)}`,
      ]),
    );
    expect(JSON.parse(body)).toMatchObject({ status: 426, code: 'websocket_version' });
  });
});
