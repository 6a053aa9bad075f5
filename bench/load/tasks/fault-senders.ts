import { type DeviceIdentity, SupernodeClient, SupernodeError } from '../../../src/client/index.js';
import { epochMs, sleep } from '../../lib/clock.js';
import { KeepAliveHttp } from '../../lib/http.js';

// The senders of a fault run (bench/faults/): sends at a fixed rate through
// one API process and, when a send fails, again with the same client message
// id, alternately through the other, until a deadline.

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

  /** Sends `plan` in order at `rate` per second; resolves once every send is accepted or given up. */
  async run({ plan, rate, deadlineMs }: { plan: FaultSend[]; rate: number; deadlineMs: number }) {
    const accepted: [string, string[]][] = [];
    const errorsByStatus: Record<string, number> = {};
    let connectionErrors = 0;
    let neverAccepted = 0;
    const failures: string[] = [];
    const sendOne = async (send: FaultSend, index: number) => {
      const clientMessageId = crypto.randomUUID();
      const deadline = Date.now() + deadlineMs;
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        const client = (attempt % 2 === 0 ? senders : sendersElsewhere)[send.sender];
        let retryAfterMs: number | undefined;
        try {
          const answer = await client.sendText(send.to, `fault ${index}`, { clientMessageId });
          accepted.push([answer.messageId, send.deviceIds]);
          return;
        } catch (error) {
          if (error instanceof SupernodeError) {
            errorsByStatus[error.status] = (errorsByStatus[error.status] ?? 0) + 1;
            const retryAfter = Number(error.problem.retryAfter);
            if (retryAfter > 0) retryAfterMs = retryAfter * 1000;
            // 408: the request did not arrive in time; 429 and 5xx: later. Anything else is final.
            if (error.status < 500 && error.status !== 429 && error.status !== 408) {
              if (failures.length < 5) failures.push(error.message);
              break;
            }
          } else {
            connectionErrors++;
          }
        }
        // As a client should: Retry-After when the server gives one, else a
        // growing pause; jittered, so that refused sends do not come back at once.
        const pause = retryAfterMs ?? Math.min(2000, 100 * 2 ** attempt);
        await sleep(pause / 2 + Math.random() * pause);
      }
      neverAccepted++;
    };
    const started = epochMs();
    const running = new Set<Promise<void>>();
    for (let index = 0; index < plan.length; index++) {
      const wait = started + (index / rate) * 1000 - epochMs();
      if (wait > 1) await sleep(wait);
      const send = sendOne(plan[index], index);
      running.add(send);
      void send.finally(() => running.delete(send));
    }
    await Promise.all(running);
    return { accepted, errorsByStatus, connectionErrors, neverAccepted, failures };
  },
};

export async function close(): Promise<void> {
  for (const transport of transports) transport.close();
}
