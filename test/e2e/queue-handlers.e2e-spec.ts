import { BullModule, Processor } from '@nestjs/bullmq';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { loadEnv } from '../../src/config/env.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { type JobHandlers, LoggedWorkerHost } from '../../src/queue/logged-worker-host.js';
import { JOBS, QUEUES } from '../../src/queue/queue-names.js';
import { deleteRedisPrefix } from '../support/test-env.js';

const env = loadEnv(process.env);
const prefix = `snt_handlers_${randomBytes(4).toString('hex')}`;

// A push processor whose handlers were forced past the compiler (a cast):
// it handles a job the push queue does not carry and not the one it does.
@Processor(QUEUES.push)
class MiswiredPushProcessor extends LoggedWorkerHost<typeof QUEUES.push> {
  protected readonly handlers = {
    [JOBS.purgeExpired]: () => Promise.resolve(),
  } as unknown as JobHandlers<typeof QUEUES.push>;
}

@Processor(QUEUES.push)
class PushProcessorDouble extends LoggedWorkerHost<typeof QUEUES.push> {
  protected readonly handlers: JobHandlers<typeof QUEUES.push> = {
    [JOBS.pushWakeup]: () => Promise.resolve(),
  };
}

const workerApp = async (processor: typeof PushProcessorDouble | typeof MiswiredPushProcessor) => {
  const moduleRef = await Test.createTestingModule({
    imports: [
      BullModule.forRoot({ connection: { url: env.REDIS_URL }, prefix }),
      BullModule.registerQueue({ name: QUEUES.push }),
    ],
    providers: [MetricsService, processor],
  }).compile();
  // The worker role has no HTTP: an application context, as main.ts's init().
  return moduleRef;
};

describe('a worker checks its handlers against the job names of its queue at boot', () => {
  afterAll(() => deleteRedisPrefix(env, prefix));

  it('refuses to start with a job left unhandled or a handler for a job the queue does not carry', async () => {
    const app = await workerApp(MiswiredPushProcessor);
    try {
      await expect(app.init()).rejects.toThrow(
        'queue push: no handler for ["push-wakeup"], handlers for jobs it does not carry ["purge-expired"]',
      );
    } finally {
      await app.close();
    }
  });

  it('starts when the handlers match', async () => {
    const app = await workerApp(PushProcessorDouble);
    try {
      await expect(app.init()).resolves.toBeDefined();
    } finally {
      await app.close();
    }
  });
});
