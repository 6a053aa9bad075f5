import type { BenchItem } from '../lib/context.js';
import { Skip } from '../lib/context.js';
import { sleep } from '../lib/clock.js';
import { summarize } from '../lib/latency.js';
import { CpuMeter } from '../lib/cpu.js';
import { progress } from '../lib/progress.js';
import type { FrameRecords, SendRecords } from '../load/tasks/sdk-load.js';
import { NotFoundError, type SupernodeClient } from '@supernode/client';
import { CONVERSATIONS_PATH, resumeClient } from '../sdk-contract.js';
import { provisionAccounts, split } from './population.js';

/**
 * Fan-out: one message to a conversation whose members' devices (two per
 * member account) are all connected; timed from the send to the frame at the
 * last device. The first rounds warm up (Settings.broadcastWarmUpRounds) and
 * are not counted.
 */
export const fanout: BenchItem = {
  name: 'fanout-1000',
  kind: 'scenario',
  description: 'one message to a conversation with N connected member devices, send → last frame',
  targets: 'all 1,000 devices have it ≤ 2× a raw broadcast',
  ceilings: ['raw-frames'],
  needsServer: true,
  needs: ['messages', 'stream'],
  maxSeconds: (s) => 60 + s.fanoutDevices / 20,
  async run(context, result) {
    const s = context.settings;
    const baseUrl = context.server!.baseUrl;
    const receivers = await Promise.all(
      Array.from({ length: s.loadProcesses }, (_, index) =>
        context.spawn('sdk-load', `fanout receiver#${index + 1}`),
      ),
    );
    const sender = await context.spawn('sdk-load', 'fanout sender');
    progress(
      `fanout-1000: provisioning ${s.fanoutDevices / 2} member accounts with 2 devices each`,
    );
    const members = await provisionAccounts(context, receivers, 'fan', s.fanoutDevices / 2, 2);
    // The owner's other device is not connected: it is the sender's other device of the rule.
    const [[owner]] = await provisionAccounts(context, [sender], 'fanowner', 1, 2);
    const conversationId = await createConversation(
      await resumeClient(baseUrl, owner),
      members.map(([device]) => device.accountId),
    );

    const memberDevices = members.flat();
    const groups = split(memberDevices, receivers.length);
    await Promise.all(
      receivers.map((load, index) =>
        load.call('connect', { baseUrl, devices: groups[index], concurrency: 32 }),
      ),
    );
    await sender.call('routes', { baseUrl, routes: [{ sender: owner, to: { conversationId } }] });
    await Promise.all(receivers.map((load) => load.call('startRecording')));
    const warmUp = s.broadcastWarmUpRounds;
    progress(
      `fanout-1000: ${memberDevices.length} devices connected; ${warmUp} rounds to warm up, ${s.broadcastRounds} counted`,
    );
    const sends: SendRecords[] = [];
    const sendRound = async (round: number) => {
      sends.push(await sender.call<SendRecords>('sendOne'));
      await Promise.all(
        receivers.map((load, index) =>
          load.call('waitFrames', { count: (round + 1) * groups[index].length, timeoutMs: 5000 }),
        ),
      );
      await sleep(100);
    };
    for (let round = 0; round < warmUp; round++) await sendRound(round);
    // The CPU split covers the counted rounds only.
    const meter = await CpuMeter.start();
    for (let round = warmUp; round < warmUp + s.broadcastRounds; round++) await sendRound(round);
    const cores = await meter.stop(context.cpuGroups());
    const frames = await Promise.all(
      receivers.map((load) => load.call<FrameRecords>('stopRecording')),
    );
    const last = new Map<string, number>();
    const lastFromAccepted = new Map<string, number>();
    const count = new Map<string, number>();
    for (const part of frames) {
      part.clientMessageIds.forEach((id, index) => {
        last.set(id, Math.max(last.get(id) ?? 0, part.receivedAt[index]));
        lastFromAccepted.set(
          id,
          Math.max(lastFromAccepted.get(id) ?? -Infinity, part.acceptedToFrame[index]),
        );
        count.set(id, (count.get(id) ?? 0) + 1);
      });
    }
    const rounds = sends.slice(warmUp).map((send) => {
      const id = send.clientMessageIds[0];
      return {
        delivered: count.get(id) ?? 0,
        sendToLastMs: (last.get(id) ?? Number.NaN) - send.sentAt[0],
        acceptedToLastMs: lastFromAccepted.get(id) ?? Number.NaN,
        acceptMs: send.answeredAt[0] - send.sentAt[0],
      };
    });
    const complete = rounds.filter((round) => round.delivered === memberDevices.length);
    const worst = complete.length ? Math.max(...complete.map((round) => round.sendToLastMs)) : null;
    const incomplete = rounds.length - complete.length;
    result.figures.push({
      key: 'fanout-1000.all_delivered_ms',
      label: `send → last of ${memberDevices.length} devices (worst of ${rounds.length})`,
      value: incomplete ? null : worst,
      unit: 'ms',
      ceiling: ['raw-frames.broadcast_ms'],
      ratioTarget: { op: '<=', value: 2 },
      note: incomplete
        ? `${incomplete} of ${rounds.length} rounds not delivered to every device within 5 s`
        : `median ${summarize(Float64Array.from(complete.map((round) => round.sendToLastMs))).p50.toFixed(1)} ms`,
    });
    result.details = {
      devices: memberDevices.length,
      members: members.length,
      rounds,
      streamErrors: frames.reduce((total, part) => total + part.streamErrors, 0),
      sendToLast: summarize(Float64Array.from(rounds.map((round) => round.sendToLastMs))),
      cores,
      acceptedToLast: summarize(Float64Array.from(rounds.map((round) => round.acceptedToLastMs))),
    };
    await Promise.all(receivers.map((load) => load.call('disconnect')));
  },
};

/** The conversation of the fan-out, made by its owner through the SDK. */
async function createConversation(owner: SupernodeClient, members: string[]): Promise<string> {
  try {
    return await owner.createConversation(members);
  } catch (error) {
    if (error instanceof NotFoundError)
      throw new Skip(`not available: server lacks POST ${CONVERSATIONS_PATH}`);
    throw error;
  }
}
