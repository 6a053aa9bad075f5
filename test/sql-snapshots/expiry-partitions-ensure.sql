-- expiry-partitions-ensure: sent unprepared
SELECT ensure_expiry_partitions(now(), now() + make_interval(secs => $1::double precision)) AS created
