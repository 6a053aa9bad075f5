-- deliveries-drop-device: sent unprepared
WITH gone AS (DELETE FROM deliveries WHERE device_id = $1 RETURNING message_id, expires_at, wrapped_key, key_day),
   held AS (
     -- A legal hold on the device's account, or on a sender, keeps what is dropped here.
     INSERT INTO held_messages (held_account_id, message_id, device_id, sender_account_id,
            sender_device_id, conversation_id, body, wrapped_key, key_day, accepted_at, expires_at)
     SELECT h.account_id, g.message_id, $1, m.sender_account_id, m.sender_device_id,
            m.conversation_id, b.body, g.wrapped_key, g.key_day, m.accepted_at, m.expires_at
       FROM gone g
       JOIN messages m ON m.id = g.message_id AND m.expires_at = g.expires_at
       JOIN message_bodies b ON b.message_id = m.id AND b.expires_at = m.expires_at
       JOIN legal_holds h ON h.account_id = m.sender_account_id
         OR h.account_id = (SELECT account_id FROM devices WHERE id = $1)
     ON CONFLICT DO NOTHING
   ),
   recorded AS (
     INSERT INTO message_undelivered (message_id, device_id, reason, expires_at)
     SELECT message_id, $1, $2, expires_at FROM gone
     ON CONFLICT DO NOTHING
   ),
   gone_per_message AS (
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
   SELECT count(*) FROM counted
