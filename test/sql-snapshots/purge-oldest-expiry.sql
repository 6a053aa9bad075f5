-- purge-oldest-expiry: sent unprepared
SELECT min(expires_at) AS oldest FROM messages
