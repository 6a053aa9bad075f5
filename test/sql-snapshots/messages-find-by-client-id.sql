-- messages-find-by-client-id: a named prepared statement
SELECT message_id AS "messageId", accepted_at AS "acceptedAt", expires_at AS "expiresAt"
   FROM message_client_ids WHERE sender_device_id = $1 AND client_message_id = $2
