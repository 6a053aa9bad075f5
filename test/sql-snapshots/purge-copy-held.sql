-- purge-copy-held: sent unprepared

  WITH held AS (SELECT account_id FROM legal_holds),
  cutoff AS (SELECT now() + interval '1 minute' AS at),
  received AS MATERIALIZED (
    SELECT h.account_id AS held_account_id, d.device_id, d.message_id, d.expires_at,
           d.wrapped_key, d.key_day
      FROM held h
      JOIN devices dv ON dv.account_id = h.account_id
      JOIN deliveries d ON d.device_id = dv.id AND d.expires_at <= (SELECT at FROM cutoff)
  ),
  sent AS MATERIALIZED (
    SELECT h.account_id AS held_account_id, m.id, m.expires_at
      FROM held h
      JOIN messages m ON m.sender_account_id = h.account_id AND m.expires_at <= (SELECT at FROM cutoff)
  ),
  sent_deliveries AS MATERIALIZED (
    SELECT s.held_account_id, d.device_id, d.message_id, d.expires_at, d.wrapped_key, d.key_day
      FROM sent s JOIN deliveries d ON d.message_id = s.id AND d.expires_at = s.expires_at
  ),
  copies AS (
    INSERT INTO held_messages (held_account_id, message_id, device_id, sender_account_id,
           sender_device_id, conversation_id, body, wrapped_key, key_day, accepted_at, expires_at)
    SELECT c.held_account_id, m.id, c.device_id,
           m.sender_account_id, m.sender_device_id, m.conversation_id, b.body, c.wrapped_key,
           c.key_day, m.accepted_at, m.expires_at
      FROM (SELECT * FROM received UNION ALL SELECT * FROM sent_deliveries) c
      JOIN messages m ON m.id = c.message_id AND m.expires_at = c.expires_at
      JOIN message_bodies b ON b.message_id = m.id AND b.expires_at = m.expires_at
    ON CONFLICT DO NOTHING
    RETURNING 1
  )
  SELECT count(*)::int AS count FROM copies
