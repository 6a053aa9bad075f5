import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Batcher } from '../common/batcher.js';
import { carryTrace, inCarriedSpan } from './trace-context.js';

describe('trace context carried past batches, jobs and processes', () => {
  const exporter = new InMemorySpanExporter();
  const tracer = () => trace.getTracer('test');

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
  });

  afterAll(() => {
    trace.disable();
    propagation.disable();
    context.disable();
  });

  beforeEach(() => exporter.reset());

  it('runs a batch in its first call’s trace, linked to the traces of the other calls', async () => {
    const batcher = new Batcher(
      async (inputs: string[]) => {
        // A statement of the batch: a child of the batch's span.
        tracer().startSpan('statement').end();
        return inputs;
      },
      { spanName: 'insert batch' },
    );
    const call = (name: string) =>
      tracer().startActiveSpan(name, async (span) => {
        await batcher.load(name);
        span.end();
        return span.spanContext();
      });
    const [first, second] = await Promise.all([call('first'), call('second')]);

    const spans = exporter.getFinishedSpans();
    const batch = spans.find((span) => span.name === 'insert batch')!;
    const statement = spans.find((span) => span.name === 'statement')!;
    expect(batch.spanContext().traceId).toBe(first.traceId);
    expect(batch.parentSpanContext?.spanId).toBe(first.spanId);
    expect(batch.links.map((link) => link.context.spanId)).toEqual([second.spanId]);
    expect(batch.attributes['batch.size']).toBe(2);
    expect(statement.parentSpanContext?.spanId).toBe(batch.spanContext().spanId);
  });

  it('continues a trace from its carried form (a job payload, a routed event)', () => {
    const sent = tracer().startActiveSpan('send', (span) => {
      const carried = carryTrace();
      span.end();
      return { carried, spanContext: span.spanContext() };
    });
    expect(sent.carried?.traceparent).toContain(sent.spanContext.traceId);
    // JSON, as in a BullMQ job or a pub/sub event, then a span in the receiving code.
    const received = JSON.parse(JSON.stringify(sent.carried)) as Record<string, string>;
    inCarriedSpan('frames', received, { 'supernode.message_id': 'm1' }, () => undefined);
    const frames = exporter.getFinishedSpans().find((span) => span.name === 'frames')!;
    expect(frames.spanContext().traceId).toBe(sent.spanContext.traceId);
    expect(frames.parentSpanContext?.spanId).toBe(sent.spanContext.spanId);
  });

  it('carries nothing and makes no span outside a trace', async () => {
    expect(carryTrace()).toBeUndefined();
    expect(inCarriedSpan('frames', undefined, {}, () => 'ran')).toBe('ran');
    const batcher = new Batcher(async (inputs: number[]) => inputs, { spanName: 'batch' });
    await batcher.load(1);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
