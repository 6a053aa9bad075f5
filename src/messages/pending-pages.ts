import type { PendingMessage, PendingPage } from './messages.types.js';

/** A row of the batched page read: its read (1-based) and how many rows that read fetched, then the message. */
export type PendingPageRow<Message extends PendingMessage> = Message & {
  readIndex: number | string;
  fetched: number | string;
};

/**
 * Splits the rows of one batched page read into each read's page, in seq
 * order whatever order the rows came in (the statement sorts none of them).
 * A read has more waiting when it fetched more rows than it kept (the one
 * past its limit, or those past its byte cap).
 */
export function pagesOfRows<Message extends PendingMessage>(
  readCount: number,
  rows: PendingPageRow<Message>[],
): PendingPage[] {
  const pages = Array.from({ length: readCount }, () => ({
    messages: [] as PendingMessage[],
    fetched: 0,
  }));
  for (const { readIndex, fetched, ...message } of rows) {
    message.seq = Number(message.seq); // bigint: pg hands it over as text
    const page = pages[Number(readIndex) - 1];
    page.messages.push(message);
    page.fetched = Number(fetched);
  }
  return pages.map(({ messages, fetched }) => ({
    messages: messages.sort((a, b) => a.seq - b.seq),
    more: fetched > messages.length,
  }));
}
