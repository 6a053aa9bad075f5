-- legal-hold-export: sent unprepared
DECLARE held_export NO SCROLL CURSOR FOR
  SELECT 'pending' AS source, m.id AS "messageId", m.sender_account_id AS "senderAccountId",
         m.sender_device_id AS "senderDeviceId", d.device_id AS "recipientDeviceId",
         m.conversation_id AS "conversationId", b.body AS body, d.wrapped_key AS "wrappedKey",
         d.key_day::text AS "keyDay", m.accepted_at AS "acceptedAt", m.expires_at AS "expiresAt"
    FROM devices dv
    JOIN deliveries d ON d.device_id = dv.id AND d.expires_at > now()
    JOIN messages m ON m.id = d.message_id AND m.expires_at = d.expires_at
    JOIN message_bodies b ON b.message_id = m.id AND b.expires_at = m.expires_at
   WHERE dv.account_id = $1
  UNION
  SELECT 'pending', m.id, m.sender_account_id, m.sender_device_id, d.device_id, m.conversation_id,
         b.body, d.wrapped_key, d.key_day::text, m.accepted_at, m.expires_at
    FROM devices dv
    JOIN message_client_ids c ON c.sender_device_id = dv.id AND c.expires_at > now()
    JOIN messages m ON m.id = c.message_id AND m.expires_at = c.expires_at
    JOIN deliveries d ON d.message_id = m.id AND d.expires_at = m.expires_at
    JOIN message_bodies b ON b.message_id = m.id AND b.expires_at = m.expires_at
   WHERE dv.account_id = $1
  UNION
  SELECT 'held', message_id, sender_account_id, sender_device_id, device_id, conversation_id,
         body, wrapped_key, key_day::text, accepted_at, expires_at
    FROM held_messages WHERE held_account_id = $1
  ORDER BY "acceptedAt", "messageId", "recipientDeviceId"
