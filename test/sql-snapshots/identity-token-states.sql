-- identity-token-states: a named prepared statement
SELECT s.index,
          CASE WHEN d.id IS NULL OR d.revoked_at IS NOT NULL THEN 'revoked'
               WHEN t.expires_at IS NULL OR t.expires_at <= now() THEN 'expired'
               ELSE 'live' END AS state
     FROM unnest($1::uuid[], $2::bytea[]) WITH ORDINALITY AS s(device_id, token_hash, index)
     LEFT JOIN devices d ON d.id = s.device_id
     LEFT JOIN auth_tokens t ON t.device_id = s.device_id AND t.token_hash = s.token_hash
