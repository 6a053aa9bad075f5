-- deliveries-pending-by-ids: a named prepared statement
WITH d AS MATERIALIZED (
     SELECT * FROM deliveries
     WHERE device_id = $1 AND message_id = ANY($2::uuid[]) AND expires_at > now()
   )
   SELECT d.message_seq AS seq, m.id AS "messageId", m.client_message_id AS "clientMessageId",
  m.sender_account_id AS "senderAccountId", m.sender_device_id AS "senderDeviceId",
  m.conversation_id AS "conversationId",
  replace(encode(b.body, 'base64'), E'\n', '') AS body,
  replace(encode(d.wrapped_key, 'base64'), E'\n', '') AS "wrappedKey", d.key_day::text AS "keyDay",
  m.accepted_at AS "acceptedAt", m.expires_at AS "expiresAt", d.expires_at::text AS "expiresAtKey"
   FROM d CROSS JOIN LATERAL (SELECT * FROM messages m WHERE m.id = d.message_id AND m.expires_at = d.expires_at LIMIT 1) m LEFT JOIN LATERAL (SELECT b.body FROM message_bodies b WHERE b.message_id = d.message_id AND b.expires_at = d.expires_at LIMIT 1) b ON true
   ORDER BY d.message_seq
