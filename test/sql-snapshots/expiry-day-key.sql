-- expiry-day-key: a named prepared statement
SELECT wrapped_key AS wrapped_key FROM expiry_day_keys WHERE day = $1
