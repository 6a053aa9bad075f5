import { randomUUID } from 'node:crypto';
import { newAccount } from '../factories/accounts.js';
import { LiveInbox } from '../support/live-inbox.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { freePort, type ServerProcess, startServerProcess } from '../support/processes.js';
import { createTestEnv, type TestEnv } from '../support/test-env.js';
import { waitFor } from '../support/wait.js';

const SERVER_SPAN = 2;

// What an operator sees in their tracing backend: one send is one trace,
// from the HTTP request through PostgreSQL and the fan-out job on the worker
// to the frame written by the process that holds the recipient's socket.
describe('traces (OpenTelemetry, exported over OTLP/HTTP)', () => {
  let world: TestEnv;
  const collector = new OtlpReceiver();
  const started: ServerProcess[] = [];
  let sending: ServerProcess;
  let receiving: ServerProcess;

  beforeAll(async () => {
    world = await createTestEnv();
    const endpoint = await collector.start();
    // Each process under its own name, and spans exported within 100 ms.
    const traced = (service: string) => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: service,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    started.push(
      ...(await Promise.all([
        startServerProcess(world.env, 'api', await freePort(), traced('sending-api')),
        startServerProcess(world.env, 'api', await freePort(), traced('receiving-api')),
        startServerProcess(world.env, 'worker', 0, traced('worker')),
      ])),
    );
    [sending, receiving] = started;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()));
    await collector.stop();
    await world?.destroy();
  });

  it('one send is one trace: the HTTP request, the PostgreSQL insert, the fan-out job and the frame', async () => {
    const alice = await newAccount(sending.baseUrl, 'alice');
    const bob = await newAccount(receiving.baseUrl, 'bob');
    const inbox = await LiveInbox.connect(bob);
    const text = `the text of ${randomUUID()}`;
    const { messageId } = await alice.sendText({ accountId: bob.accountId }, text);
    await inbox.waitForCount(1);
    // An ephemeral message crosses Redis pub/sub with its ciphertext and wrapped keys.
    await alice.send({ accountId: bob.accountId }, { type: 'text', text }, { ephemeral: true });
    await inbox.waitForCount(2);
    await inbox.stream.close();

    // The frame's span names the message; its trace is the send's.
    const frame = await waitFor('the span of the frame', () =>
      collector.spans.find(
        (span) =>
          span.name === 'stream: message frames' &&
          span.attributes['supernode.message_id'] === messageId,
      ),
    );
    expect(frame.service).toBe('receiving-api');
    const inTrace = () => collector.spans.filter((span) => span.traceId === frame.traceId);
    const request = await waitFor('the span of the HTTP request', () =>
      inTrace().find((span) => span.kind === SERVER_SPAN && pathOf(span) === '/v1/messages'),
    );
    const insert = await waitFor('the span of the insert', () =>
      inTrace().find((span) => /\bINSERT INTO messages\b/i.test(statementOf(span))),
    );
    const job = await waitFor('the span of the fan-out job', () =>
      inTrace().find((span) => span.service === 'worker' && /process/i.test(span.name)),
    );
    expect(request).toMatchObject({ service: 'sending-api' });
    expect(request.attributes).toMatchObject({ 'http.request.method': 'POST' });
    expect(insert.service).toBe('sending-api');
    expect(job.name).toMatch(/fanout/);
    // One tree: every span's parent is in the trace, and only the request is a root.
    const ids = new Set(inTrace().map((span) => span.spanId));
    const roots = inTrace().filter((span) => !span.parentSpanId || !ids.has(span.parentSpanId));
    expect(roots.map((span) => span.spanId)).toEqual([request.spanId]);

    // Statements without their values, no token, no message, no routed event's payload.
    await waitFor('the span of the ephemeral message’s routing', () =>
      collector.spans.some((span) => span.service === 'sending-api' && span.name === 'publish'),
    );
    const redisStatements = collector.spans
      .filter(
        (span) =>
          span.attributes['db.system'] === 'redis' || span.attributes['db.system.name'] === 'redis',
      )
      .map(statementOf);
    expect(redisStatements).toContainEqual(expect.stringMatching(/^publish /));
    expect(redisStatements.filter((statement) => /body|wrappedKey/.test(statement))).toEqual([]);
    const exported = collector.bodies.join('\n');
    expect(exported).not.toContain(alice.currentToken);
    expect(exported).not.toContain(bob.currentToken);
    expect(exported).not.toContain(text);
  });
});

function pathOf(span: ReceivedSpan): unknown {
  return span.attributes['url.path'] ?? span.attributes['http.target'];
}

function statementOf(span: ReceivedSpan): string {
  const statement = span.attributes['db.query.text'] ?? span.attributes['db.statement'];
  return typeof statement === 'string' ? statement : '';
}
