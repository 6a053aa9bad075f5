-- expiry-cutoff: a named prepared statement
SELECT greatest(now() - make_interval(secs => 600),
                   least(now(), (SELECT min(xact_start) FROM pg_stat_activity
                                  WHERE datname = current_database() AND pid <> pg_backend_pid()))) AS cutoff
