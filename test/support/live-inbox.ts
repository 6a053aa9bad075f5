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

  static async connect(client: SupernodeClient): Promise<LiveInbox> {
    const inbox = new LiveInbox();
    inbox.stream = await client.connect({
      onMessage: (message) => {
        inbox.messages.push(message);
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
