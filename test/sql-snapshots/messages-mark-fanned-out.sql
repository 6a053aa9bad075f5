-- messages-mark-fanned-out: a named prepared statement
WITH relaxed AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
   DELETE FROM fanout_pending WHERE message_id = ANY($1::uuid[])
     AND EXISTS (SELECT FROM relaxed)
