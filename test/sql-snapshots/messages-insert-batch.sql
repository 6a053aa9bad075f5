-- messages-insert-batch: a named prepared statement

  WITH input AS (
    SELECT i.*, substr($11::bytea, i.body_offset + 1, i.body_length) AS body
    FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::int[], $8::int[], $9::int[], $10::int[], $17::date[])
      AS i(index, sender_account_id, sender_device_id, client_message_id, recipient_account_id, conversation_id,
           body_offset, body_length, device_count, ttl_seconds, key_day)
  ), claimed AS (
    -- Idempotency: the claim of (sender device, client message id); a retry claims nothing.
    INSERT INTO message_client_ids (sender_device_id, client_message_id, message_id, accepted_at, expires_at)
    SELECT sender_device_id, client_message_id, encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
    placing substring(int8send(floor(extract(epoch FROM now()) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
    52, 1), 53, 1), 'hex')::uuid, now(), now() + make_interval(secs => ttl_seconds)
    FROM input ORDER BY index
    ON CONFLICT (sender_device_id, client_message_id) DO NOTHING
    RETURNING sender_device_id, client_message_id, message_id, accepted_at, expires_at
  ), message AS (
    INSERT INTO messages (id, sender_account_id, sender_device_id, client_message_id, recipient_account_id,
                          conversation_id, device_count, pending_count, accepted_at, expires_at)
    SELECT claimed.message_id, input.sender_account_id, input.sender_device_id, input.client_message_id,
           input.recipient_account_id, input.conversation_id, input.device_count, input.device_count,
           claimed.accepted_at, claimed.expires_at
    FROM claimed JOIN input ON claimed.sender_device_id = input.sender_device_id
                           AND claimed.client_message_id = input.client_message_id
    ORDER BY input.index
    RETURNING id, seq, sender_device_id, client_message_id, accepted_at, expires_at
  ), bodies AS (
    INSERT INTO message_bodies (message_id, expires_at, body, key_day)
    SELECT message.id, message.expires_at, input.body, input.key_day FROM message
    JOIN input ON message.sender_device_id = input.sender_device_id
              AND message.client_message_id = input.client_message_id
  ), fanout AS (
    INSERT INTO fanout_pending (message_id, accepted_at, expires_at)
    SELECT id, accepted_at, expires_at FROM message
  ), stored AS (
    INSERT INTO deliveries (device_id, message_seq, message_id, expires_at, wrapped_key, key_day)
    SELECT keyed.device_id, message.seq, message.id, message.expires_at,
           substr($16::bytea, keyed.key_offset + 1, keyed.key_length), input.key_day
    FROM unnest($12::int[], $13::uuid[], $14::int[], $15::int[]) AS keyed(index, device_id, key_offset, key_length)
    JOIN input ON input.index = keyed.index
    JOIN message ON message.sender_device_id = input.sender_device_id
                AND message.client_message_id = input.client_message_id
  )
  SELECT input.index, message.id AS "messageId", message.accepted_at AS "acceptedAt", message.expires_at AS "expiresAt",
         message.seq AS seq, message.expires_at::text AS "expiresAtKey"
  FROM message JOIN input ON message.sender_device_id = input.sender_device_id
                         AND message.client_message_id = input.client_message_id
