-- conversations-member-account-ids: a named prepared statement
SELECT conversation_id AS "conversationId", account_id AS "accountId"
     FROM conversation_members WHERE conversation_id = ANY($1::uuid[])
