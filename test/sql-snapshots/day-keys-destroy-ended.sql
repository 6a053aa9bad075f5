-- day-keys-destroy-ended: sent unprepared
DELETE FROM expiry_day_keys k
    WHERE k.day < (now() AT TIME ZONE 'UTC')::date
      AND NOT EXISTS (SELECT 1 FROM held_messages h WHERE h.key_day = k.day)
    RETURNING k.day::text AS day
