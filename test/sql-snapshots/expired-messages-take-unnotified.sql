-- expired-messages-take-unnotified: a named prepared statement
UPDATE expired_messages e SET notified = true
    WHERE e.message_id IN (SELECT message_id FROM expired_messages WHERE NOT notified
                            LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING e.message_id AS "messageId", e.sender_account_id AS "senderAccountId",
          e.expired_devices AS "deviceIds"
