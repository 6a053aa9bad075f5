-- purge-copy-held: sent unprepared

  WITH held AS (SELECT account_id FROM legal_holds),
  cutoff AS (SELECT now() + interval '1 minute' AS at),
  copies AS (
    INSERT INTO held_messages (held_account_id, message_id, device_id, sender_account_id,
           sender_device_id, conversation_id, body, wrapped_key, key_day, accepted_at, expires_at)
    SELECT h.account_id, m.id, d.device_id,
           m.sender_account_id, m.sender_device_id, m.conversation_id, b.body, d.wrapped_key,
           d.key_day, m.accepted_at, m.expires_at
      FROM held h
      JOIN devices dv ON dv.account_id = h.account_id
      JOIN deliveries d ON d.device_id = dv.id AND d.expires_at <= (SELECT at FROM cutoff)
      JOIN messages m ON m.id = d.message_id AND m.expires_at = d.expires_at
      JOIN message_bodies b ON b.message_id = m.id AND b.expires_at = m.expires_at
    UNION ALL
    SELECT h.account_id, m.id, d.device_id, m.sender_account_id, m.sender_device_id,
           m.conversation_id, b.body, d.wrapped_key, d.key_day, m.accepted_at, m.expires_at
      FROM held h
      JOIN messages m ON m.sender_account_id = h.account_id AND m.expires_at <= (SELECT at FROM cutoff)
      JOIN deliveries d ON d.message_id = m.id AND d.expires_at = m.expires_at
      JOIN message_bodies b ON b.message_id = m.id AND b.expires_at = m.expires_at
    ON CONFLICT DO NOTHING
    RETURNING 1
  )
  SELECT count(*)::int AS count FROM copies
