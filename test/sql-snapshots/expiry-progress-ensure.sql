-- expiry-progress-ensure: a named prepared statement
INSERT INTO expiry_progress DEFAULT VALUES ON CONFLICT DO NOTHING
