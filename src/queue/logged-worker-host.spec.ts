import { type JobHandlers, handlerMismatch } from './logged-worker-host.js';
import { JOBS, QUEUE_JOBS, QUEUES } from './queue-names.js';

const done = () => Promise.resolve();

describe('job handlers checked against the names each queue carries', () => {
  it('finds nothing amiss when a queue handles exactly its names', () => {
    for (const [queue, names] of Object.entries(QUEUE_JOBS))
      expect(handlerMismatch(queue, [...names])).toEqual({ unhandled: [], unknown: [] });
  });

  it('names a job without a handler, and a handler for a job the queue does not carry', () => {
    expect(handlerMismatch(QUEUES.retention, [JOBS.purgeExpired, JOBS.pushWakeup])).toEqual({
      unhandled: [JOBS.recordExpiries, JOBS.purgeSideRows, JOBS.unlinkIdleDevices],
      unknown: [JOBS.pushWakeup],
    });
    expect(handlerMismatch('no-such-queue', [JOBS.pushWakeup])).toEqual({
      unhandled: [],
      unknown: [JOBS.pushWakeup],
    });
  });

  it('is a compile error to leave a name out or add one (npm run typecheck)', () => {
    const complete: JobHandlers<typeof QUEUES.push> = { [JOBS.pushWakeup]: done };
    // @ts-expect-error: record-expiries, purge-side-rows and unlink-idle-devices have no handler
    const missing: JobHandlers<typeof QUEUES.retention> = { [JOBS.purgeExpired]: done };
    const extra: JobHandlers<typeof QUEUES.fanout> = {
      [JOBS.fanoutMessage]: done,
      // @ts-expect-error: the fan-out queue carries no push-wakeup jobs
      [JOBS.pushWakeup]: done,
    };
    expect(Object.keys(complete)).toEqual([JOBS.pushWakeup]);
    expect(Object.keys(missing)).toEqual([JOBS.purgeExpired]);
    expect(Object.keys(extra)).toHaveLength(2);
  });
});
