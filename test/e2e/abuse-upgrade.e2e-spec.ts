import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { sendRawTcp } from '../support/abuse/http.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';

// Bad WebSocket upgrade requests, written on raw TCP to the built server in
// its own process: none may end the process, and none is answered 5xx.
const upgrade = (target: string, headers: Record<string, string> = {}) =>
  [
    `GET ${target} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...Object.entries({
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      ...headers,
    })
      .filter(([, value]) => value !== '')
      .map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');

const BAD_UPGRADES: Record<string, string> = {
  'an absolute URL with an invalid port': upgrade('http://x:99999/v1/stream'),
  'an absolute URL with user info': upgrade('http://user:pass@x/v1/stream'),
  'a protocol-relative target': upgrade('//x/v1/stream'),
  'the asterisk target': upgrade('*'),
  'broken percent-encoding': upgrade('/v1/stream?token=%zz'),
  'a path with dot segments': upgrade('/v1/../v1/stream'),
  'a very long target': upgrade(`/v1/stream?token=${'a'.repeat(60_000)}`),
  'no key': upgrade('/v1/stream', { 'Sec-WebSocket-Key': '' }),
  'a bad key': upgrade('/v1/stream', { 'Sec-WebSocket-Key': 'short' }),
  'an unsupported version': upgrade('/v1/stream', { 'Sec-WebSocket-Version': '8' }),
  'another protocol in Upgrade': upgrade('/v1/stream', { Upgrade: 'h2c' }),
  'a malformed bearer token': upgrade('/v1/stream', { Authorization: 'Bearer \u0001' }),
  'a token that is not a token': upgrade('/v1/stream?token=abc.def'),
  'another path': upgrade('/v1/streams'),
  'garbage after the headers': `${upgrade('/v1/stream')}\u0000\u0001\u0002garbage`,
  'not HTTP at all': '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003',
};

describe('bad upgrade requests to /v1/stream neither end the process nor get a 5xx', () => {
  let world: TestEnv;
  let server: ServerProcess;

  beforeAll(async () => {
    world = await createTestEnv();
    server = await startServerProcess(world.env, 'all', await freePort());
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await world?.destroy();
  });

  it.each(Object.keys(BAD_UPGRADES))('%s', async (name) => {
    const answer = (await sendRawTcp(server.baseUrl, BAD_UPGRADES[name], 1000)).toString('latin1');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
    expect({ name, status: status >= 500 ? status : 'not 5xx' }).toEqual({
      name,
      status: 'not 5xx',
    });
    expect({ name, exitCode: server.child.exitCode }).toEqual({ name, exitCode: null });
    const live = await fetch(`${server.baseUrl}/health/live`);
    expect(live.status).toBe(200);
  });
});
