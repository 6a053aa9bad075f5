import { Inject, Injectable } from '@nestjs/common';
import pg from 'pg';
import { Batcher, groupRowsBy } from '../common/batcher.js';
import { type Executor, NewConnectionWork, PG_POOL } from '../db/db.module.js';
import {
  deliveries,
  devices,
  heldMessages,
  legalHolds,
  messageBodies,
  messageReceipts,
  messages,
  messageUndelivered,
} from '../db/schema/index.js';
import { sqlNames } from '../db/sql-names.js';
import { drizzleStatement, preparedStatement } from '../db/statements.js';
import { DayKeys } from './at-rest/day-keys.service.js';
import { open, SEAL_OVERHEAD_BYTES } from './at-rest/sealing.js';
import { pagesOfRows, type PendingPageRow } from './pending-pages.js';
import type {
  AckedMessage,
  PendingMessage,
  PendingPage,
  UndeliveredReason,
} from './messages.types.js';

// A wake-up push says how many messages wait, up to this many (a bounded read).
export const PENDING_SUMMARY_LIMIT = 10_000;

interface AckRequest {
  deviceId: string;
  messageIds: string[];
  /** expiresAtKey by message id, where the caller read it (the stream does). */
  keys?: ReadonlyMap<string, string>;
}

interface PendingRead {
  deviceId: string;
  limit: number;
  afterSeq: number;
  maxBytes: number;
}

const D = sqlNames(deliveries);
const M = sqlNames(messages);
const B = sqlNames(messageBodies);
const R = sqlNames(messageReceipts);
const U = sqlNames(messageUndelivered);
const HELD = sqlNames(heldMessages);
const HOLD = sqlNames(legalHolds);
const DEVICE = sqlNames(devices);

// Deliveries are gone (acked or dropped): count them off their messages (one
// update per message, however many of its deliveries went), and delete the
// body with the last one (explicitly: the message tables are partitioned and
// have no cascading keys). Expects a CTE "gone" of deliveries' (message_id,
// expires_at); the expires_at equality lets PostgreSQL touch only the
// message's own partition.
// The message rows are locked in one order, by id, in every statement that
// counts off: two statements updating overlapping messages in different
// orders deadlock, and PostgreSQL only says so after deadlock_timeout (a
// second), cancelling one of them (concurrent ack batches did, under load).
const COUNT_OFF_GONE = `gone_per_message AS (
    SELECT ${D.messageId}, ${D.expiresAt}, count(*)::int AS gone_count FROM gone GROUP BY ${D.messageId}, ${D.expiresAt}
  ), locked AS (
    SELECT m.${M.id}, m.${M.expiresAt}, g.gone_count FROM ${M.$table} m
    JOIN gone_per_message g ON m.${M.id} = g.${D.messageId} AND m.${M.expiresAt} = g.${D.expiresAt}
    ORDER BY m.${M.id} FOR UPDATE OF m
  ), counted AS (
    UPDATE ${M.$table} m SET ${M.pendingCount} = m.${M.pendingCount} - l.gone_count
    FROM locked l WHERE m.${M.id} = l.${M.id} AND m.${M.expiresAt} = l.${M.expiresAt}
    RETURNING m.${M.id}, m.${M.expiresAt}, m.${M.senderAccountId}, m.${M.pendingCount}
  ), emptied AS (
    DELETE FROM ${B.$table} b USING counted
    WHERE b.${B.messageId} = counted.${M.id} AND b.${B.expiresAt} = counted.${M.expiresAt} AND counted.${M.pendingCount} <= 0
  )`;

// The message tables are partitioned by expires_at, which every row copies
// from its message: looking a row up by its whole key stays inside one
// partition. A delivery `d` meets its message and body one row at a time (a
// LATERAL with LIMIT): the planner cannot turn that into a
// join of whole tables, which it did with plain joins under generic plans on
// young partitions that have no statistics yet.
const PENDING_MESSAGE = `LATERAL (SELECT * FROM ${M.$table} m WHERE m.${M.id} = d.${D.messageId} AND m.${M.expiresAt} = d.${D.expiresAt} LIMIT 1) m`;
const pendingBody = (delivery: string) =>
  `LEFT JOIN LATERAL (SELECT b.${B.body} FROM ${B.$table} b WHERE b.${B.messageId} = ${delivery}.${D.messageId} AND b.${B.expiresAt} = ${delivery}.${D.expiresAt} LIMIT 1) b ON true`;

// Ciphertext leaves PostgreSQL already in base64 (the wire's form): half the
// bytes of bytea's hex text, and no decoding and re-encoding in Node.
// encode() breaks lines every 76 characters; the wire has none. replace()
// drops them at less than half the cost of translate().
// The body comes as a column "body" of the row `d` or of the LATERAL `b`,
// whichever the statement read it into (pendingBody).
const pendingColumns = (
  body: 'd' | 'b',
) => `d.${D.messageSeq} AS seq, m.${M.id} AS "messageId", m.${M.clientMessageId} AS "clientMessageId",
  m.${M.senderAccountId} AS "senderAccountId", m.${M.senderDeviceId} AS "senderDeviceId",
  m.${M.conversationId} AS "conversationId",
  replace(encode(${body}.${B.body}, 'base64'), E'\\n', '') AS body,
  replace(encode(d.${D.wrappedKey}, 'base64'), E'\\n', '') AS "wrappedKey", d.${D.keyDay}::text AS "keyDay",
  m.${M.acceptedAt} AS "acceptedAt", m.${M.expiresAt} AS "expiresAt", d.${D.expiresAt}::text AS "expiresAtKey"`;

// What sealing at rest adds to a delivery's stored values (none on rows older than sealing).
const SEALED_EXTRA = `(CASE WHEN dl.${D.keyDay} IS NULL THEN 0 ELSE ${SEAL_OVERHEAD_BYTES} END)`;

// Each device's page of deliveries is taken first, in order, from the
// primary key; only those rows then meet their messages and bodies. Written
// as one join, the generic plan joined and encoded every pending row of the
// device, then sorted and kept a page: a backlog of N cost N per page.
// The page is a CTE of its own for a second reason: deliveries are placed
// by device and messages by message (src/db/distribution.ts), and a
// distributed PostgreSQL hands a CTE's rows on instead of joining the two
// groups' tables across nodes. The same goes for the read by ids below.
//
// The byte cap is applied in PostgreSQL, before any body is encoded or
// sent: the page's rows (one more than the limit, which tells whether more
// wait) carry their size from octet_length, which reads the length from the
// stored value's header without loading it, and a running sum keeps the
// rows that fit (less what sealing at rest adds, which the wire does not
// carry). Node never holds more than the cap of one read. The body is looked
// up once, here, and carried on as stored (a large one as its TOAST pointer,
// unread until encoded for a row that fits): a second look-up to encode it
// made the page read a third slower.
//
// No row carrying a body is sorted: a sort copies its rows into fresh
// memory, whose page faults are dear on a virtual machine, and sorting the
// rows with their bodies was a third of the read's time. The page is put in
// order before the bodies join it (the nested loop keeps that order for the
// running sum), and the result comes unsorted: pagesOfRows puts each read's
// rows in seq order.
const PENDING_BATCH_CAPPED = preparedStatement(
  'deliveries-pending-batch-capped',
  `WITH page AS MATERIALIZED (
     SELECT read.index AS read_index, read.page_size, read.max_bytes, dl.*
     FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::bigint[]) WITH ORDINALITY
          AS read(device_id, after_seq, page_size, max_bytes, index)
     CROSS JOIN LATERAL (
       SELECT * FROM ${D.$table} dl
       WHERE dl.${D.deviceId} = read.device_id AND dl.${D.messageSeq} > read.after_seq AND dl.${D.expiresAt} > now()
       ORDER BY dl.${D.messageSeq} LIMIT read.page_size + 1
     ) dl
   ), d AS MATERIALIZED (
     SELECT * FROM (
       SELECT sized.*, count(*) OVER (PARTITION BY sized.read_index) AS fetched,
              row_number() OVER in_order AS position,
              sum(sized.wire_bytes) OVER in_order AS running_bytes
       FROM (
         SELECT dl.*, b.${B.body},
                4 * ((octet_length(dl.${D.wrappedKey}) - ${SEALED_EXTRA} + 2) / 3)
                + 4 * ((COALESCE(octet_length(b.${B.body}), 0) - ${SEALED_EXTRA} + 2) / 3)
                  AS wire_bytes
         FROM (SELECT * FROM page ORDER BY read_index, ${D.messageSeq}) dl ${pendingBody('dl')}
       ) sized
       WINDOW in_order AS (PARTITION BY sized.read_index ORDER BY sized.${D.messageSeq})
     ) counted
     WHERE counted.position = 1
        OR (counted.position <= counted.page_size AND counted.running_bytes <= counted.max_bytes)
   )
   SELECT d.read_index AS "readIndex", d.fetched, ${pendingColumns('d')}
   FROM d CROSS JOIN ${PENDING_MESSAGE}`,
);

const PENDING_BY_IDS = preparedStatement(
  'deliveries-pending-by-ids',
  `WITH d AS MATERIALIZED (
     SELECT * FROM ${D.$table}
     WHERE ${D.deviceId} = $1 AND ${D.messageId} = ANY($2::uuid[]) AND ${D.expiresAt} > now()
   )
   SELECT ${pendingColumns('b')}
   FROM d CROSS JOIN ${PENDING_MESSAGE} ${pendingBody('d')}
   ORDER BY d.${D.messageSeq}`,
);

// "acked" names the statement's own arrays (unnest's); "targets" carries the
// messages' seq, expires_at and sender_account_id under their own names.
const ACK = preparedStatement(
  'deliveries-ack',
  `
  WITH acked AS (
    -- A pair acked twice in one batch is answered to the first asker only.
    SELECT DISTINCT ON (device_id, message_id) index, device_id, message_id, expires_at
      FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::timestamptz[])
           AS a(index, device_id, message_id, expires_at)
     ORDER BY device_id, message_id, index
  ), unkeyed AS MATERIALIZED (
    SELECT ${M.id}, ${M.seq}, ${M.expiresAt}, ${M.senderAccountId} FROM ${M.$table} WHERE ${M.id} = ANY($5::uuid[])
  ), targets AS MATERIALIZED (
    -- The acked messages first, then each delivery by its whole key.
    -- Left to itself, the planner would join a device's every delivery
    -- to the acks before it knew the messages, guessing from young
    -- partitions. With its expiry known (acks over the stream), a
    -- message is one look-up in one partition ...
    SELECT a.index, a.device_id, m.${M.id} AS message_id, m.${M.seq}, m.${M.expiresAt}, m.${M.senderAccountId}
      FROM acked a CROSS JOIN LATERAL (
             SELECT ${M.id}, ${M.seq}, ${M.expiresAt}, ${M.senderAccountId} FROM ${M.$table}
              WHERE ${M.id} = a.message_id AND ${M.expiresAt} = a.expires_at LIMIT 1) m
     WHERE a.expires_at IS NOT NULL
    UNION ALL
    -- ... and without (acks over HTTP), the ids are looked for in every
    -- partition at once: one index scan per partition for the whole set
    -- (PostgreSQL sorts the array once per scan), then a hash join back
    -- to the asks. Linear in the ids whether they are the device's or
    -- not. Never a per-id probe (a LATERAL re-runs the scan of every
    -- partition for each id) nor "m.id = ANY($n)" beside a join with
    -- the asks (the array became an index condition re-sorted on every
    -- probe: 1,000 ids that match nothing cost seconds).
    SELECT a.index, a.device_id, m.${M.id} AS message_id, m.${M.seq}, m.${M.expiresAt}, m.${M.senderAccountId}
      FROM acked a JOIN unkeyed m ON m.${M.id} = a.message_id
     WHERE a.expires_at IS NULL
  ), removed AS (
    -- Only the caller's own delivery goes (a foreign id finds its message
    -- above but no delivery of this device here), and not once it expired:
    -- the expiry record has it (or will), and takes it off the queue count.
    DELETE FROM ${D.$table} d USING targets t
    WHERE d.${D.deviceId} = t.device_id AND d.${D.messageSeq} = t.${M.seq} AND d.${D.expiresAt} = t.${M.expiresAt}
      AND d.${D.expiresAt} > now()
    RETURNING t.index, d.${D.deviceId}, d.${D.messageId}, d.${D.expiresAt}, t.${M.senderAccountId}
  ), gone AS (
    SELECT ${D.messageId}, ${D.expiresAt} FROM removed
  ), receipts AS (
    INSERT INTO ${R.$table} (${R.messageId}, ${R.deviceId}, ${R.expiresAt})
    SELECT ${D.messageId}, ${D.deviceId}, ${D.expiresAt} FROM removed ON CONFLICT DO NOTHING
  ), ${COUNT_OFF_GONE}
  -- "counted" and "emptied" run to completion unread (as every data-modifying
  -- CTE does); joining them here would be a nested loop over the batch squared.
  SELECT index, ${D.messageId} AS "messageId", ${M.senderAccountId} AS "senderAccountId" FROM removed`,
);

// Run on the caller's transaction: $1 is the device, $2 the reason.
const DROP_DEVICE_DELIVERIES = drizzleStatement(
  'deliveries-drop-device',
  `WITH gone AS (DELETE FROM ${D.$table} WHERE ${D.deviceId} = $1 RETURNING ${D.messageId}, ${D.expiresAt}, ${D.wrappedKey}, ${D.keyDay}),
   held AS (
     -- A legal hold on the device's account, or on a sender, keeps what is dropped here.
     INSERT INTO ${HELD.$table} (${HELD.heldAccountId}, ${HELD.messageId}, ${HELD.deviceId}, ${HELD.senderAccountId},
            ${HELD.senderDeviceId}, ${HELD.conversationId}, ${HELD.body}, ${HELD.wrappedKey}, ${HELD.keyDay}, ${HELD.acceptedAt}, ${HELD.expiresAt})
     SELECT h.${HOLD.accountId}, g.${D.messageId}, $1, m.${M.senderAccountId}, m.${M.senderDeviceId},
            m.${M.conversationId}, b.${B.body}, g.${D.wrappedKey}, g.${D.keyDay}, m.${M.acceptedAt}, m.${M.expiresAt}
       FROM gone g
       JOIN ${M.$table} m ON m.${M.id} = g.${D.messageId} AND m.${M.expiresAt} = g.${D.expiresAt}
       JOIN ${B.$table} b ON b.${B.messageId} = m.${M.id} AND b.${B.expiresAt} = m.${M.expiresAt}
       JOIN ${HOLD.$table} h ON h.${HOLD.accountId} = m.${M.senderAccountId}
         OR h.${HOLD.accountId} = (SELECT ${DEVICE.accountId} FROM ${DEVICE.$table} WHERE ${DEVICE.id} = $1)
     ON CONFLICT DO NOTHING
   ),
   recorded AS (
     INSERT INTO ${U.$table} (${U.messageId}, ${U.deviceId}, ${U.reason}, ${U.expiresAt})
     SELECT ${D.messageId}, $1, $2, ${D.expiresAt} FROM gone
     ON CONFLICT DO NOTHING
   ),
   ${COUNT_OFF_GONE}
   SELECT count(*) FROM counted`,
);

const PENDING_SUMMARY = preparedStatement(
  'deliveries-pending-summary',
  `SELECT count(*)::int AS count, max(${D.expiresAt}) AS "lastExpiresAt"
     FROM (SELECT ${D.expiresAt} FROM ${D.$table}
            WHERE ${D.deviceId} = $1 AND ${D.expiresAt} > now() LIMIT $2) pending`,
);

const DEVICES_OF_MESSAGES = preparedStatement(
  'deliveries-devices-of-messages',
  `SELECT ${D.messageId} AS "messageId", ${D.deviceId} AS "deviceId" FROM ${D.$table} WHERE ${D.messageId} = ANY($1::uuid[])`,
);

const openBase64 = (sealed: string, key: Uint8Array): string =>
  open(Buffer.from(sealed, 'base64'), key).toString('base64');

/** A row as pendingColumns reads it: body and wrapped key still sealed (unless keyDay is null). */
type SealedPendingRow = PendingMessage & { keyDay: string | null };

// A message's devices ack at nearly the same moment: gathered this long
// rather than one event-loop turn, their acks update its row in one statement
// instead of queueing on its lock, which cut PostgreSQL's CPU in the
// benchmark's live-latency (BENCHMARKS.md, 'Decisions the measurements justify').
const ACK_LINGER_MS = 10;
// A thousand acks take tens of milliseconds in one statement: this many
// stay far below the statement timeout on a slow host.
const ACKS_PER_STATEMENT = 5_000;

/**
 * A device's pending deliveries: the reads of its inbox (HTTP pages, the
 * stream's backlog and late commits, the wake-up summary, the fan-out's
 * devices of a message), its acks, and the drop of all of them when the
 * device goes. Single SQL statements on the pool, batched across devices.
 */
@Injectable()
export class DeliveriesRepository {
  private readonly pendingReads = new Batcher((reads: PendingRead[]) => this.queryPending(reads), {
    keyOf: (read) => `${read.deviceId}:${read.afterSeq}:${read.limit}:${read.maxBytes}`,
  });
  private readonly pendingDevices = new Batcher((messageIds: string[]) =>
    this.queryPendingDevices(messageIds),
  );
  // Acks of many devices in one statement: when a message to a large group is
  // acked by all its devices at once, its counter is updated once per batch
  // rather than once per device (a hot row that every ack would queue on).
  // Acks gather for a few milliseconds, not one event-loop turn: the devices
  // of a message ack it at about the same moment, and in one statement their
  // acks make one update of its pending_count instead of several queued on
  // its row lock, each through another statement's commit.
  // One ack statement at a time: the acks that come meanwhile wait and go
  // in the next. Two at once that count off the same message queue on its
  // row lock, and the one that waited re-checks the row (EvalPlanQual),
  // which sets up its plan over every partition again: with a message to
  // 1,000 devices acked by all of them, that set-up took most of
  // PostgreSQL's CPU. A statement takes at most ACKS_PER_STATEMENT ids, so
  // that what gathers behind a long one (every device draining after an
  // outage) never makes one that outlasts the statement timeout.
  private readonly acks = new Batcher((requests: AckRequest[]) => this.ackBatch(requests), {
    lingerMs: ACK_LINGER_MS,
    maxInFlight: 1,
    weightOf: (request) => request.messageIds.length,
    maxWeight: ACKS_PER_STATEMENT,
  });

  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    private readonly dayKeys: DayKeys,
    private readonly newConnections: NewConnectionWork,
  ) {}

  /**
   * From now on, every new pool connection plans the page read before it
   * serves anything: planned cold, over every daily partition, that read
   * takes several times longer than once planned, and a device coming back
   * would wait that long for its first message. An empty read plans it.
   */
  planPageReadOnNewConnections(): void {
    this.newConnections.add((client) =>
      client.query({ ...PENDING_BATCH_CAPPED, values: [[], [], [], []] }),
    );
  }

  /**
   * What is still pending for a device, in acceptance order, after `afterSeq`:
   * at most `limit` messages and `maxBytes` of ciphertext as the wire carries
   * it (base64 body and wrapped key), though always the first message.
   * Acked rows are gone, so reading from the start again can never skip a
   * row that committed late; `afterSeq` is only for paging within one read.
   */
  pending(
    deviceId: string,
    page: { limit: number; maxBytes: number; afterSeq?: number },
  ): Promise<PendingPage> {
    return this.pendingReads.load({
      deviceId,
      limit: page.limit,
      maxBytes: page.maxBytes,
      afterSeq: page.afterSeq ?? 0,
    });
  }

  // Many sockets drain at once after a fan-out to a large conversation: one
  // query serves them all, each device with its own cursor and limits
  // (PENDING_BATCH_CAPPED says how it reads a page).
  private async queryPending(reads: PendingRead[]): Promise<PendingPage[]> {
    const result = await this.pool.query<PendingPageRow<SealedPendingRow>>({
      ...PENDING_BATCH_CAPPED,
      values: [
        reads.map((read) => read.deviceId),
        reads.map((read) => read.afterSeq),
        reads.map((read) => read.limit),
        reads.map((read) => read.maxBytes),
      ],
    });
    await this.openSealed(result.rows);
    return pagesOfRows(reads.length, result.rows);
  }

  /** Which of these messages are still pending for the device, in acceptance order (live delivery's late commits). */
  async pendingByIds(deviceId: string, messageIds: string[]): Promise<PendingMessage[]> {
    const result = await this.pool.query<SealedPendingRow>({
      ...PENDING_BY_IDS,
      values: [deviceId, messageIds],
    });
    await this.openSealed(result.rows);
    return result.rows.map((row) => ({ ...row, seq: Number(row.seq) }));
  }

  /**
   * Opens, in place, the body and wrapped key of rows read with
   * pendingColumns (base64 in, base64 out, as the wire carries them). The
   * key day stays on the row: nothing sends it (inboxMessageView picks the
   * wire's fields), and deleting a property on every row read costs more.
   */
  private async openSealed(rows: SealedPendingRow[]): Promise<void> {
    const keys = await this.dayKeys.forOpening(
      rows.flatMap((row) => (row.keyDay === null ? [] : [row.keyDay])),
    );
    for (const row of rows) {
      const key = row.keyDay === null ? undefined : keys.get(row.keyDay);
      if (key) {
        row.wrappedKey = openBase64(row.wrappedKey, key);
        // Null when its last delivery was acked as it was read.
        if (row.body !== null) row.body = openBase64(row.body, key);
      }
    }
  }

  /**
   * Acks: deletes the device's deliveries of these messages, records receipts,
   * and drops a body once its last delivery is gone. Ids that are not pending
   * for this device change nothing.
   */
  ack(
    deviceId: string,
    messageIds: string[],
    keys?: ReadonlyMap<string, string>,
  ): Promise<AckedMessage[]> {
    return this.acks.load({ deviceId, messageIds, keys });
  }

  private async ackBatch(requests: AckRequest[]): Promise<AckedMessage[][]> {
    const pairs = requests.flatMap((request, index) =>
      request.messageIds.map((messageId) => ({
        index,
        deviceId: request.deviceId,
        messageId,
        expiresAt: request.keys?.get(messageId) ?? null,
      })),
    );
    const result = await this.pool.query<AckedMessage & { index: number }>({
      ...ACK,
      values: [
        pairs.map((pair) => pair.index),
        pairs.map((pair) => pair.deviceId),
        pairs.map((pair) => pair.messageId),
        pairs.map((pair) => pair.expiresAt),
        pairs.filter((pair) => pair.expiresAt === null).map((pair) => pair.messageId),
      ],
    });
    const perRequest = requests.map((): AckedMessage[] => []);
    for (const { index, ...acked } of result.rows) perRequest[index].push(acked);
    return perRequest;
  }

  /**
   * Drops every pending delivery of a device (revoked, unlinked, its account
   * deleted), inside that transaction, and records why for the senders' status.
   */
  async dropDeviceDeliveries(
    tx: Executor,
    deviceId: string,
    reason: UndeliveredReason,
  ): Promise<void> {
    await tx.execute(DROP_DEVICE_DELIVERIES([deviceId, reason]));
  }

  /**
   * How many unexpired messages are pending for the device (counted up to
   * PENDING_SUMMARY_LIMIT) and when the last of them expires.
   */
  async pendingSummary(deviceId: string): Promise<{ count: number; lastExpiresAt: Date | null }> {
    const result = await this.pool.query<{ count: number; lastExpiresAt: Date | null }>({
      ...PENDING_SUMMARY,
      values: [deviceId, PENDING_SUMMARY_LIMIT],
    });
    return result.rows[0];
  }

  /** Devices that still have this message pending. */
  pendingDeviceIds(messageId: string): Promise<string[]> {
    return this.pendingDevices.load(messageId);
  }

  private async queryPendingDevices(messageIds: string[]): Promise<string[][]> {
    const result = await this.pool.query<{ messageId: string; deviceId: string }>({
      ...DEVICES_OF_MESSAGES,
      values: [messageIds],
    });
    return groupRowsBy(messageIds, result.rows, (row) => row.messageId).map((rows) =>
      rows.map((row) => row.deviceId),
    );
  }
}
