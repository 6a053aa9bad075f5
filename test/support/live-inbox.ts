import type { MessageStream, Receipt, ReceivedMessage, SupernodeClient } from '@supernode/client';
import { waitFor } from './wait.js';

/** A device connected to the stream, recording what it gets. */
export class LiveInbox {
  readonly messages: ReceivedMessage[] = [];
  readonly receipts: Receipt[] = [];
  readonly errors: Error[] = [];
  /** How many times the socket opened (1 unless it reconnected). */
  connects = 0;
  stream!: MessageStream;

  /**
   * `beforeAck`, when given, runs after a message is recorded and before it
   * is acked (the SDK acks when the handler returns): a test holds the ack
   * back while another socket of the same device must still see the message.
   */
  static async connect(
    client: SupernodeClient,
    options: { beforeAck?: (message: ReceivedMessage) => Promise<void> } = {},
  ): Promise<LiveInbox> {
    const inbox = new LiveInbox();
    inbox.stream = await client.connect({
      onMessage: async (message) => {
        inbox.messages.push(message);
        await options.beforeAck?.(message);
      },
      onReceipt: (receipt) => inbox.receipts.push(receipt),
      onError: (error) => inbox.errors.push(error),
      onConnect: () => inbox.connects++,
    });
    return inbox;
  }

  texts(): string[] {
    return this.messages.map((message) => (message.content as { text: string }).text);
  }

  async waitForCount(count: number, timeoutMs?: number): Promise<void> {
    await waitFor(
      `${count} messages (have ${this.messages.length})`,
      () => this.messages.length >= count,
      timeoutMs,
    );
  }
}
