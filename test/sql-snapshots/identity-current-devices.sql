-- identity-current-devices: a named prepared statement
SELECT id AS id, account_id AS "accountId", name AS name, signing_key AS "signingKey", box_key AS "boxKey",
   box_key_signature AS "boxKeySignature", created_at AS "createdAt", last_seen_at AS "lastSeenAt" FROM devices WHERE account_id = ANY($1::uuid[]) AND revoked_at IS NULL
     ORDER BY created_at, id
