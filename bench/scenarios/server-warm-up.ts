import type { BenchItem } from '../lib/context.js';
import { progress } from '../lib/progress.js';
import { senders, sendBackToBack } from './ingest.js';

/**
 * Runs before the first server scenario of a full run: back-to-back sends,
 * as in ingest, for `serverWarmupMs`, measuring nothing. Without it the
 * first scenario measured a server whose optimizing compiler was still busy
 * (perf showed it among the API's hottest symbols in ingest's window, and
 * gone after a longer load: bench/history/2026-11-25_to_2026-12-01.md).
 */
export const serverWarmUp: BenchItem = {
  name: 'server-warm-up',
  kind: 'warm-up',
  description: 'back-to-back sends before the first server scenario, not measured',
  needsServer: true,
  needs: ['messages'],
  maxSeconds: (s) => s.serverWarmupMs / 1000 + 60,
  async run(context, result) {
    const ms = context.settings.serverWarmupMs;
    const loads = await senders(context, 'server-warm-up');
    progress(`server-warm-up: ${context.settings.concurrency} in flight for ${ms / 1000} s`);
    const parts = await sendBackToBack(context, loads, 0, ms);
    result.details = {
      completed: parts.reduce((total, part) => total + part.completed, 0),
      errors: parts.reduce((total, part) => total + part.errors, 0),
    };
  },
};
