import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  trace,
} from '@opentelemetry/api';

/**
 * A W3C trace context (`traceparent`, `tracestate`) carried with a message
 * where the async context cannot follow it: into a BullMQ job, across Redis
 * pub/sub to another process.
 */
export type TraceCarrier = Record<string, string>;

// Without a started SDK (tracing off) the API is a no-op: these helpers then
// carry nothing and create no spans.
const tracer = trace.getTracer('supernode');

/** The active trace, to carry with work that leaves this call; undefined when there is none. */
export function carryTrace(): TraceCarrier | undefined {
  // Called for every accepted message: without a span (tracing off) nothing is built.
  if (!trace.getActiveSpan()) return undefined;
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** Runs `work` in the carried trace's context (no span of its own), or as is without one. */
export function inCarriedContext<T>(carrier: TraceCarrier | undefined, work: () => T): T {
  if (!carrier) return work();
  return context.with(propagation.extract(ROOT_CONTEXT, carrier), work);
}

/** Runs synchronous `work` inside a span that continues the carried trace; untraced without one. */
export function inCarriedSpan<T>(
  name: string,
  carrier: TraceCarrier | undefined,
  attributes: Attributes,
  work: () => T,
): T {
  if (!carrier) return work();
  const parent = propagation.extract(ROOT_CONTEXT, carrier);
  return tracer.startActiveSpan(name, { attributes }, parent, (span) => {
    try {
      return work();
    } finally {
      span.end();
    }
  });
}

/** The context a call is made in, kept by code that runs the call's work later. */
export const activeContext = (): Context => context.active();

/**
 * Runs one batch for calls made in several traces: in the first call's trace
 * (so that the statements it issues join it), inside a span named `name`
 * linked to the other calls' traces. Without a trace, runs it as is.
 */
export function inBatchSpan<T>(
  name: string,
  callers: Context[],
  work: () => Promise<T>,
): Promise<T> {
  const [first] = callers;
  if (!first || !trace.getSpan(first)) return work();
  const links: Link[] = [];
  for (const caller of callers.slice(1)) {
    const spanContext = trace.getSpanContext(caller);
    if (spanContext) links.push({ context: spanContext });
  }
  return tracer.startActiveSpan(
    name,
    { links, attributes: { 'batch.size': callers.length } },
    first,
    (span) => work().finally(() => span.end()),
  );
}
