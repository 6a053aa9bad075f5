-- purge-record-expired-unread: sent unprepared

  WITH recorded AS (
    INSERT INTO expired_messages (message_id, sender_account_id, expires_at, device_count,
                                  delivered, expired_devices)
    SELECT m.id, m.sender_account_id, m.expires_at, m.device_count,
           COALESCE((SELECT json_agg(json_build_object('deviceId', r.device_id, 'ackedAt', r.acked_at))
                       FROM message_receipts r
                      WHERE r.message_id = m.id AND r.expires_at = m.expires_at), '[]'),
           array_agg(d.device_id ORDER BY d.device_id)
      FROM deliveries d
      JOIN messages m ON m.id = d.message_id AND m.expires_at = d.expires_at
     WHERE d.expires_at <= now()
     GROUP BY m.id, m.sender_account_id, m.expires_at, m.device_count
    ON CONFLICT DO NOTHING
    RETURNING 1
  )
  SELECT count(*)::int AS count FROM recorded
