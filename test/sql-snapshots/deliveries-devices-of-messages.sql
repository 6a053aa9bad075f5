-- deliveries-devices-of-messages: a named prepared statement
SELECT message_id AS "messageId", device_id AS "deviceId" FROM deliveries WHERE message_id = ANY($1::uuid[])
