import type { PendingMessage } from './messages.types.js';
import { pagesOfRows, type PendingPageRow } from './pending-pages.js';

const row = (readIndex: number, seq: number, fetched: number): PendingPageRow<PendingMessage> => ({
  readIndex: String(readIndex),
  fetched: String(fetched),
  seq: String(seq) as unknown as number, // as pg hands a bigint over
  messageId: `m${seq}`,
  clientMessageId: `c${seq}`,
  senderAccountId: 'alice',
  senderDeviceId: 'a1',
  conversationId: null,
  body: 'Ym9keQ',
  wrappedKey: 'a2V5',
  acceptedAt: new Date(0),
  expiresAt: new Date(0),
  expiresAtKey: '1970-01-01 00:00:00+00',
});

describe('the pages of one batched page read', () => {
  it('puts each read’s rows in seq order, whatever order they came in', () => {
    const rows = [row(2, 30, 2), row(1, 12, 3), row(2, 7, 2), row(1, 10, 3), row(1, 11, 3)];
    const pages = pagesOfRows(2, rows);
    expect(pages.map((page) => page.messages.map((message) => message.seq))).toEqual([
      [10, 11, 12],
      [7, 30],
    ]);
  });

  it('says more wait when a read fetched more rows than it kept', () => {
    // Read 1 fetched 4 and kept 3 (its limit or its byte cap); read 2 kept all it fetched.
    const pages = pagesOfRows(2, [row(1, 1, 4), row(1, 2, 4), row(1, 3, 4), row(2, 5, 1)]);
    expect(pages.map((page) => page.more)).toEqual([true, false]);
  });

  it('gives an empty page, with nothing more, to a read that found nothing', () => {
    expect(pagesOfRows(2, [row(2, 5, 1)])[0]).toEqual({ messages: [], more: false });
  });
});
