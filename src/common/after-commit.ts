import { Global, Injectable, Module } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Work that runs after a commit (fan-out of a message just stored, receipts
 * of an ack, wake-up pushes): a graceful shutdown awaits it before
 * PostgreSQL's pool and Redis close, so that an accepted message is handed
 * on rather than left to the reconciler, and nothing fails on a closed pool.
 */
// How long a shutdown waits for after-commit work before it closes the pool
// and Redis anyway (within main.ts's deadline for the whole shutdown).
const AFTER_COMMIT_GRACE_MS = 5000;

@Injectable()
export class AfterCommitWork {
  private readonly running = new Set<Promise<unknown>>();

  /** Runs `work` at once and keeps it until it settles. */
  track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    const forget = () => this.running.delete(work);
    work.then(forget, forget);
    return work;
  }

  /**
   * Resolves once nothing tracked is running (work tracked meanwhile is
   * awaited too), or after `timeoutMs`: a dependency that hangs must not
   * hold the shutdown forever.
   */
  async settled(timeoutMs = AFTER_COMMIT_GRACE_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.running.size > 0 && Date.now() < deadline) {
      await Promise.race([
        Promise.allSettled([...this.running]),
        sleep(deadline - Date.now(), undefined, { ref: false }),
      ]);
    }
  }
}

@Global()
@Module({ providers: [AfterCommitWork], exports: [AfterCommitWork] })
export class AfterCommitModule {}
