-- push-subscribed-among: a named prepared statement
SELECT device_id AS "deviceId" FROM push_subscriptions
    WHERE device_id = ANY($1::uuid[])
