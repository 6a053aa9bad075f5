-- conversations-remove-deleted-account: sent unprepared

  WITH left_conversations AS (
    DELETE FROM conversation_members WHERE account_id = $1
    RETURNING conversation_id, role
  ),
  successors AS (
    SELECT DISTINCT ON (m.conversation_id) m.conversation_id, m.account_id
      FROM conversation_members m
      JOIN left_conversations l ON l.conversation_id = m.conversation_id AND l.role = 'owner'
     WHERE m.account_id <> $1
       AND NOT EXISTS (SELECT 1 FROM conversation_members o
                        WHERE o.conversation_id = m.conversation_id AND o.role = 'owner'
                          AND o.account_id <> $1)
     ORDER BY m.conversation_id, m.joined_at, m.account_id
  ),
  promoted AS (
    UPDATE conversation_members m SET role = 'owner'
      FROM successors s
     WHERE m.conversation_id = s.conversation_id AND m.account_id = s.account_id
    RETURNING m.conversation_id
  )
  DELETE FROM conversations c
   USING left_conversations l
   WHERE c.id = l.conversation_id
     AND NOT EXISTS (SELECT 1 FROM conversation_members m
                      WHERE m.conversation_id = c.id AND m.account_id <> $1)
