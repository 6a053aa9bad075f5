-- day-keys-insert-master-key: sent unprepared
INSERT INTO at_rest_master_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING
