import { register } from 'node:module';
import { type Env, tracingOn } from '../config/env.js';

/** Stops tracing after the last spans are exported. */
export type StopTracing = () => Promise<void>;

// Requests that run all the time and say nothing about a message.
const UNTRACED_PATHS = ['/health', '/metrics'];

/**
 * Starts OpenTelemetry when an OTLP endpoint is configured (the standard
 * OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and
 * does nothing otherwise: the SDK is not even loaded, so a server without
 * tracing pays for no context tracking.
 *
 * Must run before the server's modules load: the instrumentations hook
 * `import` to wrap node:http, pg and ioredis, and only see modules loaded
 * after the hook is registered (main.ts loads the server afterwards).
 */
export async function startTracing(env: Env): Promise<StopTracing> {
  if (!tracingOn(env)) return () => Promise.resolve();
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const [
    { NodeSDK },
    { OTLPTraceExporter },
    { HttpInstrumentation },
    { PgInstrumentation },
    { IORedisInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
  ]);
  const sdk = new NodeSDK({
    // The role tells the processes apart; OTEL_SERVICE_NAME, when set, wins.
    serviceName: process.env.OTEL_SERVICE_NAME ?? `supernode-${env.ROLE}`,
    // OTLP over HTTP with JSON bodies (any collector takes it); the endpoint
    // and its headers come from the standard variables.
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) =>
          UNTRACED_PATHS.some((path) => request.url?.startsWith(path)),
      }),
      // Statement text only, never its values (message bodies, wrapped keys, tokens).
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      // The command and its key, never the rest: routed events and claims
      // carry ids, but an ephemeral message's event carries its ciphertext.
      new IORedisInstrumentation({
        dbStatementSerializer: (command, args) =>
          args.length > 0 ? [command, String(args[0])].join(' ') : command,
      }),
    ],
  });
  sdk.start();
  return () => sdk.shutdown();
}
