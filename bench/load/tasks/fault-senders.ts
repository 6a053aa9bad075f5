import { type DeviceIdentity, SupernodeClient, SupernodeError } from '@supernode/client';
import { epochMs, sleep } from '../../lib/clock.js';
import { KeepAliveHttp } from '../../lib/http.js';

// The senders of a fault run and of a soak (bench/faults/, bench/soak/): send
// at a fixed rate through one API process and, when a send fails, again with
// the same client message id, alternately through the other, until a deadline.

export interface FaultSend {
  /** Where each send goes: an account, or a conversation. */
  to: { accountId: string } | { conversationId: string };
  /** The devices it is addressed to. */
  deviceIds: string[];
  /** Index into the senders. */
  sender: number;
}

interface Setup {
  sendUrl: string;
  otherUrl: string;
  identities: DeviceIdentity[];
}

// Connections to each API process, shared by the senders: enough for the
// sends in flight at the rate, and a cap on what a stalled server can pile up.
const SOCKETS_PER_PROCESS = 64;
// A process that stalls mid-request is given up on after this long (the send is tried again).
const REQUEST_TIMEOUT_MS = 10_000;

let senders: SupernodeClient[] = [];
let sendersElsewhere: SupernodeClient[] = [];
const transports: KeepAliveHttp[] = [];

interface RunRequest {
  cycle: FaultSend[];
  count: number;
  rate: number;
  deadlineMs: number;
  keepIds: boolean;
  /** The messages' time to live (the server's default when absent). */
  ttlSeconds?: number;
}

export interface SendOutcome {
  /** With `keepIds`: each accepted message's id and the devices it was addressed to. */
  accepted: [string, string[]][];
  acceptedCount: number;
  errorsByStatus: Record<string, number>;
  connectionErrors: number;
  neverAccepted: number;
  failures: string[];
}

const acceptedIds: [string, string[]][] = [];
const tally = {
  acceptedCount: 0,
  errorsByStatus: {} as Record<string, number>,
  connectionErrors: 0,
  neverAccepted: 0,
  failures: [] as string[],
};

export const handlers = {
  async setup({ sendUrl, otherUrl, identities }: Setup) {
    // The bench's own client rather than fetch: on a 2-core host the load's
    // CPU is taken from the servers under test (bench/lib/http.ts).
    const clientsOf = (url: string) => {
      const transport = new KeepAliveHttp(url, SOCKETS_PER_PROCESS, {
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      transports.push(transport);
      return Promise.all(
        identities.map((identity) => SupernodeClient.fromIdentity(url, identity, { transport })),
      );
    };
    senders = await clientsOf(sendUrl);
    sendersElsewhere = await clientsOf(otherUrl);
    return {};
  },

  /**
   * Sends `count` messages at `rate` per second, repeating `cycle`; resolves
   * once every send is accepted or given up. `keepIds`: the accepted
   * messages' ids and devices come back (for a check of every delivery),
   * else only the counts (a soak's hours of sends).
   */
  async run(request: RunRequest): Promise<SendOutcome> {
    const { cycle, count, rate } = request;
    const started = epochMs();
    const running = new Set<Promise<void>>();
    for (let index = 0; index < count; index++) {
      const wait = started + (index / rate) * 1000 - epochMs();
      if (wait > 1) await sleep(wait);
      const send = sendOne(cycle[index % cycle.length], index, request);
      running.add(send);
      void send.finally(() => running.delete(send));
    }
    await Promise.all(running);
    return { ...tally, accepted: acceptedIds };
  },

  /** The counts so far, while `run` goes on. */
  tally: () => tally,
};

async function sendOne(
  send: FaultSend,
  index: number,
  { deadlineMs, keepIds, ttlSeconds }: RunRequest,
) {
  const clientMessageId = crypto.randomUUID();
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const client = (attempt % 2 === 0 ? senders : sendersElsewhere)[send.sender];
    let retryAfterMs: number | undefined;
    try {
      const answer = await client.sendText(send.to, `fault ${index}`, {
        clientMessageId,
        ttlSeconds,
      });
      tally.acceptedCount++;
      if (keepIds) acceptedIds.push([answer.messageId, send.deviceIds]);
      return;
    } catch (error) {
      if (error instanceof SupernodeError) {
        tally.errorsByStatus[error.status] = (tally.errorsByStatus[error.status] ?? 0) + 1;
        const retryAfter = Number(error.problem.retryAfter);
        if (retryAfter > 0) retryAfterMs = retryAfter * 1000;
        // 408: the request did not arrive in time; 429 and 5xx: later. Anything else is final.
        if (error.status < 500 && error.status !== 429 && error.status !== 408) {
          if (tally.failures.length < 5) tally.failures.push(error.message);
          break;
        }
      } else {
        tally.connectionErrors++;
      }
    }
    // As a client should: Retry-After when the server gives one, else a
    // growing pause; jittered, so that refused sends do not come back at once.
    const pause = retryAfterMs ?? Math.min(2000, 100 * 2 ** attempt);
    await sleep(pause / 2 + Math.random() * pause);
  }
  tally.neverAccepted++;
}

export async function close(): Promise<void> {
  for (const transport of transports) transport.close();
}
