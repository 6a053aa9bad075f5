-- messages-status: a named prepared statement
WITH message AS MATERIALIZED (
     SELECT id, sender_account_id, device_count, expires_at FROM messages WHERE id = $1
   ), pending AS MATERIALIZED (
     SELECT array_agg(d.device_id) AS devices FROM deliveries d
      WHERE d.message_id = (SELECT id FROM message) AND d.expires_at = (SELECT expires_at FROM message)
   )
   SELECT m.sender_account_id AS "senderAccountId", m.device_count AS "deviceCount",
     m.expires_at <= now() AS "expired",
     COALESCE((SELECT devices FROM pending), '{}') AS pending,
     COALESCE((SELECT json_agg(json_build_object('deviceId', r.device_id, 'ackedAt', r.acked_at))
               FROM message_receipts r WHERE r.message_id = m.id AND r.expires_at = m.expires_at), '[]') AS delivered,
     COALESCE((SELECT json_agg(json_build_object('deviceId', u.device_id, 'reason', u.reason))
               FROM message_undelivered u WHERE u.message_id = m.id), '[]') AS undelivered
   FROM message m
 UNION ALL
 -- Purged after expiring unread: what was recorded then.
 SELECT e.sender_account_id, e.device_count, true, e.expired_devices, e.delivered::json,
     COALESCE((SELECT json_agg(json_build_object('deviceId', u.device_id, 'reason', u.reason))
               FROM message_undelivered u WHERE u.message_id = e.message_id), '[]')
   FROM expired_messages e
  WHERE e.message_id = $1 AND NOT EXISTS (SELECT FROM message)
