/**
 * How each table would be spread over the nodes of a distributed PostgreSQL
 * (Citus's model: docs/scale-out.md). Nothing reads this at run time; a test
 * (test/e2e/distribution-keys.e2e-spec.ts) holds the schema to it, so that a
 * new table must say where it goes and no key can stop it from going there.
 *
 * - `distributed`: rows are placed by `column` (its hash). Tables of one
 *   `group` place equal values together (co-location), so joins and
 *   foreign keys on that column stay on one node. Every primary or unique
 *   key must include the column.
 * - `reference`: small or rarely written; a copy on every node, so any
 *   table may join it or point at it.
 * - `coordinator`: stays on one node (append-only logs whose hash chain
 *   needs one order).
 */
export type Distribution =
  | { kind: 'distributed'; group: DistributionGroup; column: string }
  | { kind: 'reference' }
  | { kind: 'coordinator' };

/** Values of one group are the same identifier: rows with equal values share a node. */
export type DistributionGroup = 'device' | 'message' | 'conversation' | 'account' | 'link-code';

const byDevice = (column: string): Distribution => ({
  kind: 'distributed',
  group: 'device',
  column,
});
const byMessage = (column: string): Distribution => ({
  kind: 'distributed',
  group: 'message',
  column,
});
const REFERENCE: Distribution = { kind: 'reference' };

export const TABLE_DISTRIBUTION: Record<string, Distribution> = {
  // Per device: a device's pending messages, sessions, push endpoint and
  // the client ids of what it sent all live with the device.
  devices: byDevice('id'),
  deliveries: byDevice('device_id'),
  auth_tokens: byDevice('device_id'),
  auth_challenges: byDevice('device_id'),
  push_subscriptions: byDevice('device_id'),
  message_client_ids: byDevice('sender_device_id'),
  // Per message: the message, its body and what is recorded about it.
  messages: byMessage('id'),
  message_bodies: byMessage('message_id'),
  message_receipts: byMessage('message_id'),
  message_undelivered: byMessage('message_id'),
  fanout_pending: byMessage('message_id'),
  expired_messages: byMessage('message_id'),
  // A conversation with its members.
  conversations: { kind: 'distributed', group: 'conversation', column: 'id' },
  conversation_members: { kind: 'distributed', group: 'conversation', column: 'conversation_id' },
  // Looked up by the code a user types.
  link_codes: { kind: 'distributed', group: 'link-code', column: 'code_hash' },
  // Copies kept for a legal hold, per held account.
  held_messages: { kind: 'distributed', group: 'account', column: 'held_account_id' },
  // The directory of accounts (unique handles) and the server's own keys and settings.
  accounts: REFERENCE,
  legal_holds: REFERENCE,
  admin_credentials: REFERENCE,
  at_rest_master_key: REFERENCE,
  expiry_day_keys: REFERENCE,
  expiry_progress: REFERENCE,
  vapid_keys: REFERENCE,
  audit_log: { kind: 'coordinator' },
  purge_log: { kind: 'coordinator' },
};
