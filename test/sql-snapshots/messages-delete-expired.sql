-- messages-delete-expired: a named prepared statement

  WITH doomed AS (
    SELECT id, expires_at FROM messages
     WHERE (expires_at, id) <= (SELECT recorded_until, recorded_until_id FROM expiry_progress) AND expires_at <= (SELECT recorded_until FROM expiry_progress)
    ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
  ), message AS (
    DELETE FROM messages m USING doomed WHERE m.id = doomed.id AND m.expires_at = doomed.expires_at
    RETURNING m.id, m.expires_at
  ), bodies AS (
    DELETE FROM message_bodies b USING message WHERE b.message_id = message.id AND b.expires_at = message.expires_at
    RETURNING octet_length(b.body) AS bytes
  ), pending AS (
    DELETE FROM deliveries d USING message WHERE d.message_id = message.id AND d.expires_at = message.expires_at
  ), receipts AS (
    DELETE FROM message_receipts r USING message WHERE r.message_id = message.id AND r.expires_at = message.expires_at
  )
  SELECT (SELECT count(*)::int FROM message) AS count,
         (SELECT coalesce(sum(bytes), 0) FROM bodies) AS bytes
