-- identity-current-device-ids: a named prepared statement
SELECT id AS id, account_id AS "accountId" FROM devices WHERE account_id = ANY($1::uuid[]) AND revoked_at IS NULL
     ORDER BY created_at, id
