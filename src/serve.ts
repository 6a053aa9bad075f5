import { Logger } from '@nestjs/common';
import { createApp } from './app.js';
import { keepRunningOnStrayErrors } from './common/process-errors.js';
import type { Env } from './config/env.js';
import type { StopTracing } from './telemetry/tracing.js';

/** Runs the server in its role until SIGTERM or SIGINT. */
export async function serve(env: Env, stopTracing: StopTracing): Promise<void> {
  keepRunningOnStrayErrors(new Logger('Process'));
  const app = await createApp(env);
  // The last spans go out after the app's own work has ended.
  stopOnSignals(() => app.close().finally(stopTracing));
  if (env.ROLE === 'worker') {
    await app.init();
    new Logger('Supernode').log('worker started');
    return;
  }
  await app.listen(env.PORT, env.HOST);
  const url = `http://${env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST}:${env.PORT}`;
  new Logger('Supernode').log({ url, role: env.ROLE }, 'listening on');
}

// A graceful close waits for Redis and PostgreSQL; if one is down it could wait
// forever, so the process exits anyway after a deadline.
const SHUTDOWN_DEADLINE_MS = 10_000;

function stopOnSignals(close: () => Promise<void>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref();
      close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
