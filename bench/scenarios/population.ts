import type { Context } from '../lib/context.js';
import type { LoadProcess } from '../lib/rpc.js';
import type { Route } from '../load/tasks/sdk-load.js';
import type { BenchDevice } from '../sdk-contract.js';

/**
 * A sender account and a recipient account, two devices each. A message from
 * `sender` to the recipient account is wrapped for 3 devices: the recipient's
 * two and the sender's other device (the 3 deliveries).
 */
export interface Pair {
  sender: BenchDevice;
  senderOther: BenchDevice;
  recipients: [BenchDevice, BenchDevice];
}

/** A handle unique to this run: b<run>-<label>-<index>. */
export const handleFor = (context: Context, label: string, index: number) =>
  `b${context.runId.split('_')[1]}-${label}-${index}`;

/** Provisions accounts through the SDK, spread over the given load processes. */
export async function provisionAccounts(
  context: Context,
  loads: LoadProcess[],
  label: string,
  count: number,
  devicesPerAccount: number,
): Promise<BenchDevice[][]> {
  const handles = Array.from({ length: count }, (_, index) => handleFor(context, label, index));
  const parts = await Promise.all(
    loads.map((load, part) =>
      load.call<BenchDevice[][]>(
        'provision',
        {
          baseUrl: context.server?.baseUrl,
          handles: handles.filter((_, index) => index % loads.length === part),
          devicesPerAccount,
          concurrency: 16,
        },
        600_000,
      ),
    ),
  );
  // Back in handle order.
  return handles.map((_, index) => parts[index % loads.length][Math.floor(index / loads.length)]);
}

/** Pairs for a scenario, provisioned once per run under `label` and reused. */
export async function pairs(
  context: Context,
  loads: LoadProcess[],
  label: string,
  count: number,
): Promise<Pair[]> {
  const key = `pairs:${label}`;
  const cached = context.shared.get(key) as Pair[] | undefined;
  if (cached && cached.length >= count) return cached.slice(0, count);
  const accounts = await provisionAccounts(context, loads, label, count * 2, 2);
  const made: Pair[] = [];
  for (let index = 0; index < count; index++) {
    const [sender, senderOther] = accounts[index * 2];
    const [first, second] = accounts[index * 2 + 1];
    made.push({ sender, senderOther, recipients: [first, second] });
  }
  context.shared.set(key, made);
  return made;
}

export function routeOf(pair: Pair): Route {
  return { sender: pair.sender, to: { accountId: pair.recipients[0].accountId } };
}

/** The devices a pair's messages are delivered to. */
export const deliveredTo = (pair: Pair): BenchDevice[] => [...pair.recipients, pair.senderOther];

/** Splits items over n parts, round-robin. */
export function split<T>(items: T[], parts: number): T[][] {
  return Array.from({ length: parts }, (_, part) =>
    items.filter((_, index) => index % parts === part),
  );
}
