-- day-keys-master-key: sent unprepared
SELECT key AS key FROM at_rest_master_key
