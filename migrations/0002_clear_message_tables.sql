-- The message tables become partitioned by expiry (0004). Nothing has been
-- released, so no installed database holds messages of value; emptying them
-- first lets 0003 add NOT NULL columns even where test rows were left behind.
TRUNCATE messages, message_bodies, fanout_pending, deliveries, message_receipts;
