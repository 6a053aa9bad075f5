-- identity-live-tokens: a named prepared statement
SELECT t.device_id AS "deviceId", t.token_hash AS "tokenHash", d.account_id AS "accountId"
     FROM auth_tokens t JOIN devices d ON d.id = t.device_id
    WHERE t.device_id = ANY($1::uuid[]) AND t.expires_at > now() AND d.revoked_at IS NULL
