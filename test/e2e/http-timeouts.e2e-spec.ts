import { newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { openRaw, type RawConnection } from '../support/raw-http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

// Short limits, so that every cut comes in well under a second. The idle
// timeout also applies while a handler works: it stays above what a slow
// request on a busy test machine may take.
const HEADERS_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 600;
const IDLE_TIMEOUT_MS = 2000;

const cutWith408 = async (connection: RawConnection) => {
  await waitFor('the server to cut the connection', () => connection.closed());
  expect(connection.status()).toBe(408);
  expect(connection.received()).toMatch(/content-type: application\/problem\+json/i);
  expect(connection.body()).toMatchObject({ status: 408, code: 'request_timeout' });
};

describe('a client that is slow to send cannot hold a connection', () => {
  let world: TestApp;

  beforeAll(async () => {
    world = await startTestApp({
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
    });
  });
  afterAll(() => world.close());

  it('trickled headers are cut with 408', async () => {
    const connection = await openRaw(world.baseUrl, 'GET /health/live HTTP/1.1\r\nHost: x\r\n');
    // A byte of a header every 50 ms: never idle, never done.
    connection.trickle('x', 50);
    await cutWith408(connection);
  });

  it('a trickled body is cut with 408', async () => {
    const connection = await openRaw(
      world.baseUrl,
      'POST /v1/auth/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Content-Length: 1000\r\n\r\n{"deviceId":',
    );
    connection.trickle(' ', 50);
    await cutWith408(connection);
  });

  it('a connection that never sends a request is cut', async () => {
    const connection = await openRaw(world.baseUrl);
    await waitFor('the server to cut the connection', () => connection.closed());
  });

  it('the control: a request sent whole is answered, and a stream outlives every timeout', async () => {
    const alice = await newAccount(world.baseUrl, 'alice');
    const bob = await newAccount(world.baseUrl, 'bob');
    const inbox = await LiveInbox.connect(bob);
    const openedAt = Date.now();

    const whole = await openRaw(world.baseUrl, 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the answer', () => whole.body());
    expect(whole.status()).toBe(200);
    whole.close();

    // A stream is silent between heartbeats for far longer than these limits:
    // none of them may end it. Wait out the longest, then send to it.
    await waitFor('the idle timeout to pass', () => Date.now() - openedAt > IDLE_TIMEOUT_MS + 500);
    await alice.sendText({ accountId: bob.accountId }, 'still there?');
    await inbox.waitForCount(1);
    expect(inbox.texts()).toEqual(['still there?']);
    expect(inbox.connects).toBe(1);
    await inbox.stream.close();
  });
});

describe('a process holds at most HTTP_MAX_CONNECTIONS sockets', () => {
  const MAX_CONNECTIONS = 3;
  let world: TestApp;
  const connections: RawConnection[] = [];

  beforeAll(async () => {
    world = await startTestApp({ HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS) });
  });
  afterAll(async () => {
    for (const connection of connections) connection.close();
    await world.close();
  });

  // A kept-alive connection that got its answer: the server holds it.
  const answered = async () => {
    const connection = await openRaw(world.baseUrl, 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    connections.push(connection);
    await waitFor('an answer or a close', () => connection.body() ?? connection.closed());
    return connection;
  };

  it('the connection over the cap is closed unanswered, and one is accepted once another ends', async () => {
    for (let index = 0; index < MAX_CONNECTIONS; index++) {
      expect((await answered()).status()).toBe(200);
    }
    const over = await answered();
    expect(over.closed()).toBe(true);
    expect(over.received()).toBe('');

    connections[0].close();
    await waitFor('a connection to be accepted again', async () => {
      const retry = await answered();
      return retry.status() === 200;
    });
  });
});
