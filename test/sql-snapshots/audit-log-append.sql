-- audit-log-append: sent unprepared
INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
