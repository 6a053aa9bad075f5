import { type SupernodeClient } from '@supernode/client';
import { PushDouble } from '../../test/support/push-double.js';
import { sleep } from '../lib/clock.js';
import type { BenchItem } from '../lib/context.js';
import { Skip } from '../lib/context.js';
import { summarize } from '../lib/latency.js';
import { progress } from '../lib/progress.js';
import { provisionAccount, resumeClient } from '../sdk-contract.js';

/** The push double the server trusts (main.ts starts it before the server). */
export const PUSH_DOUBLE = 'push-double';

// Sends per second: far below ingest, so that what is measured is the wake-up path, not a queue.
const SEND_RATE = 50;

/**
 * Wake-up push latency: each message goes to a device that sleeps (no
 * stream) with a Web Push subscription at the push double; timed from the
 * sender's 201 to the push arriving at the double, for normal and urgent
 * sends. One message per device, so the per-device throttle never holds a push back.
 */
export const pushLatency: BenchItem = {
  name: 'push-latency',
  kind: 'scenario',
  description: 'send to a sleeping device with a push subscription, 201 → push at the push service',
  needsServer: true,
  needs: ['messages'],
  maxSeconds: (s) => (s.quick ? 60 : 120),
  async run(context, result) {
    const double = context.shared.get(PUSH_DOUBLE) as PushDouble | undefined;
    if (!double) throw new Skip('no push double (it did not start)');
    const baseUrl = context.server!.baseUrl;
    const perKind = context.settings.quick ? 40 : 200;
    const run = context.runId.split('_')[1];
    progress(`push-latency: provisioning ${perKind * 2} sleeping devices with a subscription`);
    const [senderDevice] = await provisionAccount(baseUrl, `pushfrom${run}`, 1);
    const sender = await resumeClient(baseUrl, senderDevice);
    const sleepers: { client: SupernodeClient; endpoint: string }[] = [];
    for (let index = 0; index < perKind * 2; index++) {
      const [device] = await provisionAccount(baseUrl, `push${run}x${index}`, 1);
      const client = await resumeClient(baseUrl, device);
      const subscription = double.subscribe();
      await client.registerPush(subscription);
      sleepers.push({ client, endpoint: subscription.endpoint });
    }

    const measure = async (urgent: boolean, devices: typeof sleepers) => {
      const latencies: number[] = [];
      const started = Date.now();
      await Promise.all(
        devices.map(async ({ client, endpoint }, index) => {
          await sleep(started + (index * 1000) / SEND_RATE - Date.now());
          await sender.send(
            { accountId: client.accountId },
            { type: urgent ? 'call-invite' : 'text' },
            urgent ? { urgent: true, ttlSeconds: 60 } : { ttlSeconds: 3600 },
          );
          const acceptedAt = Date.now();
          for (const deadline = acceptedAt + 30_000; Date.now() < deadline;) {
            const [push] = double.pushesTo(endpoint);
            if (push) {
              latencies.push(Math.max(0, push.receivedAt - acceptedAt));
              return;
            }
            await sleep(2);
          }
        }),
      );
      return {
        latency: summarize(Float64Array.from(latencies)),
        lost: devices.length - latencies.length,
      };
    };
    const normal = await measure(false, sleepers.slice(0, perKind));
    const urgent = await measure(true, sleepers.slice(perKind));
    const note = (lost: number) => (lost ? `${lost} pushes did not arrive within 30 s` : undefined);
    result.figures.push(
      {
        key: 'push-latency.p50',
        label: `201 → push p50 (normal, ${SEND_RATE} msgs/s)`,
        value: normal.latency.p50,
        unit: 'ms',
      },
      {
        key: 'push-latency.p99',
        label: `201 → push p99 (normal)`,
        value: normal.latency.p99,
        unit: 'ms',
        note: note(normal.lost),
      },
      {
        key: 'push-latency.urgent_p50',
        label: `201 → push p50 (urgent)`,
        value: urgent.latency.p50,
        unit: 'ms',
      },
      {
        key: 'push-latency.urgent_p99',
        label: `201 → push p99 (urgent)`,
        value: urgent.latency.p99,
        unit: 'ms',
        note: note(urgent.lost),
      },
    );
    result.details = {
      perKind,
      rate: SEND_RATE,
      normal,
      urgent,
      doubleFailures: double.failures.length,
    };
  },
};
