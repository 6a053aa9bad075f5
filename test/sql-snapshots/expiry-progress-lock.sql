-- expiry-progress-lock: a named prepared statement
SELECT 1 FROM expiry_progress FOR UPDATE
