-- messages-not-fanned-out: a named prepared statement
SELECT message_id AS id FROM fanout_pending
   WHERE accepted_at < now() - make_interval(secs => $1) AND expires_at > now()
   ORDER BY accepted_at LIMIT $2
