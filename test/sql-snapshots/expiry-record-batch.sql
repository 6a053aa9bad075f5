-- expiry-record-batch: a named prepared statement

  WITH batch AS MATERIALIZED (
    SELECT id, expires_at, sender_account_id, device_count FROM messages
     WHERE (expires_at, id) > (SELECT recorded_until, recorded_until_id FROM expiry_progress) AND expires_at >= (SELECT recorded_until FROM expiry_progress)
       AND expires_at <= $2
     ORDER BY expires_at, id LIMIT $1
  ), unread AS MATERIALIZED (
    SELECT d.message_id, d.device_id FROM deliveries d
      JOIN batch b ON d.message_id = b.id AND d.expires_at = b.expires_at
  ), recorded AS (
    INSERT INTO expired_messages (message_id, sender_account_id, expires_at, device_count,
                                  delivered, expired_devices)
    SELECT b.id, b.sender_account_id, b.expires_at, b.device_count,
           COALESCE((SELECT json_agg(json_build_object('deviceId', r.device_id, 'ackedAt', r.acked_at))
                       FROM message_receipts r
                      WHERE r.message_id = b.id AND r.expires_at = b.expires_at), '[]'),
           u.devices
      FROM (SELECT message_id, array_agg(device_id ORDER BY device_id) AS devices
              FROM unread GROUP BY message_id) u
      JOIN batch b ON b.id = u.message_id
    ON CONFLICT DO NOTHING
    RETURNING 1
  ), last AS (
    SELECT expires_at, id FROM batch ORDER BY expires_at DESC, id DESC LIMIT 1
  ), full_batch AS (
    SELECT count(*) = $1 AS more FROM batch
  ), advanced AS (
    UPDATE expiry_progress SET
      recorded_until = CASE WHEN (SELECT more FROM full_batch) THEN (SELECT expires_at FROM last) ELSE $2 END,
      recorded_until_id = CASE WHEN (SELECT more FROM full_batch) THEN (SELECT id FROM last)
                             ELSE 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid END
     WHERE (SELECT more FROM full_batch) OR $2 > recorded_until
  )
  SELECT (SELECT count(*)::int FROM batch) AS messages,
         (SELECT count(*)::int FROM recorded) AS recorded,
         (SELECT more FROM full_batch) AS more,
         (SELECT coalesce(json_agg(json_build_object('deviceId', device_id, 'count', count)), '[]')
            FROM (SELECT device_id, count(*)::int AS count FROM unread GROUP BY device_id) per_device) AS released
