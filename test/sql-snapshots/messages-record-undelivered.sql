-- messages-record-undelivered: sent unprepared
INSERT INTO message_undelivered (message_id, device_id, reason, expires_at)
   SELECT $1, u.device_id, u.reason, $2 FROM unnest($3::uuid[], $4::text[]) AS u(device_id, reason)
   ON CONFLICT DO NOTHING
