-- purge-oldest-expiry: sent unprepared
SELECT min(expires_at) AS oldest, coalesce(min(expires_at) <= now(), false) AS passed
     FROM messages
