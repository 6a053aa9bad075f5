-- purge-expired-deliveries-per-device: sent unprepared
SELECT device_id AS "deviceId", count(*)::int AS count
     FROM deliveries WHERE expires_at <= now() GROUP BY device_id
