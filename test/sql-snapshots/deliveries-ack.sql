-- deliveries-ack: a named prepared statement

  WITH acked AS (
    -- A pair acked twice in one batch is answered to the first asker only.
    SELECT DISTINCT ON (device_id, message_id) index, device_id, message_id, expires_at
      FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::timestamptz[])
           AS a(index, device_id, message_id, expires_at)
     ORDER BY device_id, message_id, index
  ), unkeyed AS MATERIALIZED (
    SELECT id, seq, expires_at, sender_account_id FROM messages WHERE id = ANY($5::uuid[])
  ), targets AS MATERIALIZED (
    -- The acked messages first, then each delivery by its whole key.
    -- Left to itself, the planner would join a device's every delivery
    -- to the acks before it knew the messages, guessing from young
    -- partitions. With its expiry known (acks over the stream), a
    -- message is one look-up in one partition ...
    SELECT a.index, a.device_id, m.id AS message_id, m.seq, m.expires_at, m.sender_account_id
      FROM acked a CROSS JOIN LATERAL (
             SELECT id, seq, expires_at, sender_account_id FROM messages
              WHERE id = a.message_id AND expires_at = a.expires_at LIMIT 1) m
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
    SELECT a.index, a.device_id, m.id AS message_id, m.seq, m.expires_at, m.sender_account_id
      FROM acked a JOIN unkeyed m ON m.id = a.message_id
     WHERE a.expires_at IS NULL
  ), removed AS (
    -- Only the caller's own delivery goes (a foreign id finds its message
    -- above but no delivery of this device here), and not once it expired:
    -- the expiry record has it (or will), and takes it off the queue count.
    DELETE FROM deliveries d USING targets t
    WHERE d.device_id = t.device_id AND d.message_seq = t.seq AND d.expires_at = t.expires_at
      AND d.expires_at > now()
    RETURNING t.index, d.device_id, d.message_id, d.expires_at, t.sender_account_id
  ), gone AS (
    SELECT message_id, expires_at FROM removed
  ), receipts AS (
    INSERT INTO message_receipts (message_id, device_id, expires_at)
    SELECT message_id, device_id, expires_at FROM removed ON CONFLICT DO NOTHING
  ), gone_per_message AS (
    SELECT message_id, expires_at, count(*)::int AS gone_count FROM gone GROUP BY message_id, expires_at
  ), locked AS (
    SELECT m.id, m.expires_at, g.gone_count FROM messages m
    JOIN gone_per_message g ON m.id = g.message_id AND m.expires_at = g.expires_at
    ORDER BY m.id FOR UPDATE OF m
  ), counted AS (
    UPDATE messages m SET pending_count = m.pending_count - l.gone_count
    FROM locked l WHERE m.id = l.id AND m.expires_at = l.expires_at
    RETURNING m.id, m.expires_at, m.sender_account_id, m.pending_count
  ), emptied AS (
    DELETE FROM message_bodies b USING counted
    WHERE b.message_id = counted.id AND b.expires_at = counted.expires_at AND counted.pending_count <= 0
  )
  -- "counted" and "emptied" run to completion unread (as every data-modifying
  -- CTE does); joining them here would be a nested loop over the batch squared.
  SELECT index, message_id AS "messageId", sender_account_id AS "senderAccountId" FROM removed
