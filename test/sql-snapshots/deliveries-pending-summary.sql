-- deliveries-pending-summary: a named prepared statement
SELECT count(*)::int AS count, max(expires_at) AS "lastExpiresAt"
     FROM (SELECT expires_at FROM deliveries
            WHERE device_id = $1 AND expires_at > now() LIMIT $2) pending
