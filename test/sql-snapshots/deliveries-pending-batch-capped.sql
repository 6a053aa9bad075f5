-- deliveries-pending-batch-capped: a named prepared statement
WITH page AS MATERIALIZED (
     SELECT read.index AS read_index, read.page_size, read.max_bytes, dl.*
     FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::bigint[]) WITH ORDINALITY
          AS read(device_id, after_seq, page_size, max_bytes, index)
     CROSS JOIN LATERAL (
       SELECT * FROM deliveries dl
       WHERE dl.device_id = read.device_id AND dl.message_seq > read.after_seq AND dl.expires_at > now()
       ORDER BY dl.message_seq LIMIT read.page_size + 1
     ) dl
   ), d AS MATERIALIZED (
     SELECT * FROM (
       SELECT sized.*, count(*) OVER (PARTITION BY sized.read_index) AS fetched,
              row_number() OVER in_order AS position,
              sum(sized.wire_bytes) OVER in_order AS running_bytes
       FROM (
         SELECT dl.*, b.body,
                4 * ((octet_length(dl.wrapped_key) - (CASE WHEN dl.key_day IS NULL THEN 0 ELSE 40 END) + 2) / 3)
                + 4 * ((COALESCE(octet_length(b.body), 0) - (CASE WHEN dl.key_day IS NULL THEN 0 ELSE 40 END) + 2) / 3)
                  AS wire_bytes
         FROM (SELECT * FROM page ORDER BY read_index, message_seq) dl LEFT JOIN LATERAL (SELECT b.body FROM message_bodies b WHERE b.message_id = dl.message_id AND b.expires_at = dl.expires_at LIMIT 1) b ON true
       ) sized
       WINDOW in_order AS (PARTITION BY sized.read_index ORDER BY sized.message_seq)
     ) counted
     WHERE counted.position = 1
        OR (counted.position <= counted.page_size AND counted.running_bytes <= counted.max_bytes)
   )
   SELECT d.read_index AS "readIndex", d.fetched, d.message_seq AS seq, m.id AS "messageId", m.client_message_id AS "clientMessageId",
  m.sender_account_id AS "senderAccountId", m.sender_device_id AS "senderDeviceId",
  m.conversation_id AS "conversationId",
  replace(encode(d.body, 'base64'), E'\n', '') AS body,
  replace(encode(d.wrapped_key, 'base64'), E'\n', '') AS "wrappedKey", d.key_day::text AS "keyDay",
  m.accepted_at AS "acceptedAt", m.expires_at AS "expiresAt", d.expires_at::text AS "expiresAtKey"
   FROM d CROSS JOIN LATERAL (SELECT * FROM messages m WHERE m.id = d.message_id AND m.expires_at = d.expires_at LIMIT 1) m
