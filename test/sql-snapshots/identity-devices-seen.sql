-- identity-devices-seen: a named prepared statement
UPDATE devices SET last_seen_at = now()
    WHERE id = ANY($1::uuid[])
      AND (last_seen_at IS NULL OR last_seen_at < now() - interval '1 minute')
