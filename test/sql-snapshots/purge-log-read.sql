-- purge-log-read: sent unprepared
SELECT seq AS seq, at AS at, actor AS actor, action AS action, subject AS subject,
              details AS details, prev_hash AS "prevHash", hash AS hash
         FROM purge_log WHERE seq > $1 ORDER BY seq LIMIT $2
