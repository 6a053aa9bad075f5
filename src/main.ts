import { EnvError, loadEnv } from './config/env.js';
import { startTracing } from './telemetry/tracing.js';

async function main(): Promise<void> {
  const env = loadEnv();
  // Tracing hooks module loading, so the server's modules load after it starts.
  const stopTracing = await startTracing(env);
  const { serve } = await import('./serve.js');
  await serve(env, stopTracing);
}

main().catch((error: unknown) => {
  if (error instanceof EnvError) {
    console.error(error.message);
  } else {
    console.error('Supernode failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
