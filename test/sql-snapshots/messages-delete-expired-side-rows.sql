-- messages-delete-expired-side-rows: a named prepared statement

  WITH claims AS (
  DELETE FROM message_client_ids WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM message_client_ids WHERE expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED))
  RETURNING 1),
  marks AS (
  DELETE FROM fanout_pending WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM fanout_pending WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED))
  RETURNING 1),
  expired AS (
  DELETE FROM expired_messages WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM expired_messages WHERE expires_at <= now() - make_interval(secs => 604800) LIMIT $1 FOR UPDATE SKIP LOCKED))
  RETURNING 1),
  undelivered AS (
  DELETE FROM message_undelivered WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM message_undelivered WHERE expires_at <= now() - make_interval(secs => 604800) LIMIT $1 FOR UPDATE SKIP LOCKED))
  RETURNING 1)
  SELECT greatest((SELECT count(*) FROM claims), (SELECT count(*) FROM marks),
                  (SELECT count(*) FROM undelivered), (SELECT count(*) FROM expired))::int AS count
