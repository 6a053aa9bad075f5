-- day-keys-insert: sent unprepared
INSERT INTO expiry_day_keys (day, wrapped_key) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING
