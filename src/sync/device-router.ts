import type { InboxMessage } from '../messages/inbox-message.view.js';
import type { TraceCarrier } from '../telemetry/trace-context.js';

/** A message and those of its devices that the receiving process holds. */
export interface RoutedMessage {
  messageId: string;
  deviceIds: string[];
  /** For an urgent message: until when a device found asleep gets a high-urgency push. */
  urgentUntil?: string;
  /** The request that sent it (log lines of the frames). */
  requestId?: string;
  /** With tracing on: the send's trace, which the frames' span continues. */
  trace?: TraceCarrier;
}

/** That a device acked a message, for those of the sender's devices the receiving process holds. */
export interface RoutedReceipt {
  messageId: string;
  ackedByDeviceId: string;
  deviceIds: string[];
}

/**
 * An ephemeral message for the devices the receiving process holds: the
 * message once, and each device's wrapped key. The only event that carries
 * ciphertext, since it is stored nowhere to be read from.
 */
export interface RoutedEphemeral {
  message: Omit<InboxMessage, 'wrappedKey'>;
  wrappedKeys: Record<string, string>;
}

/** A message that expired unread, for those of its sender's devices the receiving process holds. */
export interface RoutedExpiry {
  messageId: string;
  /** The devices that never acked it. */
  expiredDeviceIds: string[];
  /** The sender's devices to tell. */
  deviceIds: string[];
}

/** What one process tells another about live connections. Ids only, but for ephemeral messages. */
export type RoutedEvent =
  | { kind: 'expired'; expired: RoutedExpiry[] }
  | { kind: 'messages'; messages: RoutedMessage[] }
  | ({ kind: 'ephemeral' } & RoutedEphemeral)
  | { kind: 'receipts'; receipts: RoutedReceipt[] }
  | { kind: 'revoked'; deviceId: string };

export type RoutedEventHandler = (event: RoutedEvent) => void;

/**
 * Reaches the process that holds a device's socket. The one implementation
 * today is Redis pub/sub (see redis-pubsub.router.ts);
 * BullMQ's Relay could replace it behind this interface.
 */
export interface DeviceRouter {
  /** Starts delivering events addressed to `processId` (and broadcasts) to `handler`. */
  listen(processId: string, handler: RoutedEventHandler): Promise<void>;
  sendTo(processId: string, event: RoutedEvent): Promise<void>;
  broadcast(event: RoutedEvent): Promise<void>;
  close(): Promise<void>;
}

export const DEVICE_ROUTER = Symbol('sync:device-router');
