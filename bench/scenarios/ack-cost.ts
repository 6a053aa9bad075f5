import { randomUUID } from 'node:crypto';
import type { BenchItem } from '../lib/context.js';
import { monoMs, sleep } from '../lib/clock.js';
import { KeepAliveHttp } from '../lib/http.js';
import { summarize } from '../lib/latency.js';
import { progress } from '../lib/progress.js';
import { resumeClient } from '../sdk-contract.js';
import { pairs, routeOf } from './population.js';

const IDS_PER_ACK = 1000;
// Rounds before the measured ones: each connection of the server's pool
// plans the ack statement on its first use.
const WARM_UP_ROUNDS = 2;

/**
 * The cost of an ack: `POST /v1/inbox/ack` with 1,000 ids, one after the
 * other, by a device with a backlog, of ids that are none of its own (what an
 * abuser sends) and of 1,000 of its own pending messages (what a client
 * catching up over HTTP sends). Timed from the request to its answer.
 */
export const ackCost: BenchItem = {
  name: 'ack-cost',
  kind: 'scenario',
  description: 'POST /v1/inbox/ack with 1,000 ids, foreign and the device’s own pending ones',
  targets: 'answered ≤ 50 ms (p99), foreign ids and own ids',
  ceilings: ['raw-http'],
  needsServer: true,
  needs: ['messages'],
  maxSeconds: (s) => 60 + s.ackRounds * 2,
  async run(context, result) {
    const s = context.settings;
    const baseUrl = context.server!.baseUrl;
    const sender = await context.spawn('sdk-load', 'ack-cost sender');
    const [pair] = await pairs(context, [sender], 'ackcost', 1);
    const rounds = WARM_UP_ROUNDS + s.ackRounds;
    await sender.call('routes', { baseUrl, routes: [routeOf(pair)] });
    progress(`ack-cost: queueing ${rounds * IDS_PER_ACK} messages for an offline device`);
    await sender.call(
      'sendCount',
      { count: rounds * IDS_PER_ACK, concurrency: s.concurrency },
      rounds * IDS_PER_ACK * 10,
    );
    await sleep(2000); // the fan-out jobs of the backlog run out

    const http = new KeepAliveHttp(baseUrl, 1);
    try {
      const device = await resumeClient(baseUrl, pair.recipients[0], http);
      const foreignMs: number[] = [];
      const ownMs: number[] = [];
      let ownAcked = 0;
      const timed = async (messageIds: string[]) => {
        const started = monoMs();
        const acked = await device.ack(messageIds);
        return { acked, ms: monoMs() - started };
      };
      for (let round = 0; round < rounds; round++) {
        const measured = round >= WARM_UP_ROUNDS;
        const foreign = await timed(Array.from({ length: IDS_PER_ACK }, () => randomUUID()));
        if (foreign.acked !== 0) throw new Error(`${foreign.acked} foreign ids acked`);
        const page = await device.fetchInbox(IDS_PER_ACK);
        const own = await timed(page.messages.map((message) => message.messageId));
        if (measured) {
          foreignMs.push(foreign.ms);
          ownMs.push(own.ms);
          ownAcked += own.acked;
        }
      }
      const foreign = summarize(Float64Array.from(foreignMs));
      const own = summarize(Float64Array.from(ownMs));
      result.figures.push(
        {
          key: 'ack-cost.foreign_p99',
          label: `ack of ${IDS_PER_ACK} foreign ids, p99 of ${foreignMs.length}`,
          value: foreign.p99,
          unit: 'ms',
          target: { op: '<=', value: 50 },
          ceiling: ['raw-http.p99_at_rate'],
          note: `median ${foreign.p50.toFixed(1)} ms`,
        },
        {
          key: 'ack-cost.own_p99',
          label: `ack of ${IDS_PER_ACK} of the device’s pending ids, p99 of ${ownMs.length}`,
          value: own.p99,
          unit: 'ms',
          target: { op: '<=', value: 50 },
          ceiling: ['raw-http.p99_at_rate'],
          note:
            ownAcked < ownMs.length * IDS_PER_ACK
              ? `only ${ownAcked} of ${ownMs.length * IDS_PER_ACK} acked`
              : `median ${own.p50.toFixed(1)} ms`,
        },
      );
      result.details = { rounds: s.ackRounds, foreign, own, ownAcked };
    } finally {
      http.close();
    }
  },
};
