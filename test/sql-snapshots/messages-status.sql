-- messages-status: a named prepared statement
SELECT m.sender_account_id AS "senderAccountId", m.device_count AS "deviceCount",
     m.expires_at <= now() AS "expired",
     COALESCE((SELECT array_agg(d.device_id) FROM deliveries d
               WHERE d.message_id = m.id AND d.expires_at = m.expires_at), '{}') AS pending,
     COALESCE((SELECT json_agg(json_build_object('deviceId', r.device_id, 'ackedAt', r.acked_at))
               FROM message_receipts r WHERE r.message_id = m.id AND r.expires_at = m.expires_at), '[]') AS delivered,
     COALESCE((SELECT json_agg(json_build_object('deviceId', u.device_id, 'reason', u.reason))
               FROM message_undelivered u WHERE u.message_id = m.id), '[]') AS undelivered
   FROM messages m WHERE m.id = $1
 UNION ALL
 -- Purged after expiring unread: what was recorded then.
 SELECT e.sender_account_id, e.device_count, true, e.expired_devices, e.delivered::json,
     COALESCE((SELECT json_agg(json_build_object('deviceId', u.device_id, 'reason', u.reason))
               FROM message_undelivered u WHERE u.message_id = e.message_id), '[]')
   FROM expired_messages e
  WHERE e.message_id = $1 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = $1)
