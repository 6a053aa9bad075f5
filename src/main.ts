import { Logger } from '@nestjs/common';
import { createApp } from './app.js';
import { EnvError, loadEnv } from './config/env.js';

async function main(): Promise<void> {
  const env = loadEnv();
  const app = await createApp(env);
  if (env.ROLE === 'worker') {
    await app.init();
    new Logger('Supernode').log('worker started');
    return;
  }
  await app.listen(env.PORT, env.HOST);
  new Logger('Supernode').log(
    `listening on http://${env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST}:${env.PORT} (ROLE=${env.ROLE})`,
  );
}

main().catch((error: unknown) => {
  if (error instanceof EnvError) {
    console.error(error.message);
  } else {
    console.error('Supernode failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
