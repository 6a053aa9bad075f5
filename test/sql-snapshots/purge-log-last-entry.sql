-- purge-log-last-entry: sent unprepared
SELECT seq AS seq, hash AS hash FROM purge_log ORDER BY seq DESC LIMIT 1
