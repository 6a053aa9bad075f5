import { type KnownDevice, DeviceDirectory } from './device-directory.js';
import { openMessage, sealMessage } from './message-crypto.js';
import { MessageStream, type StreamHandlers, type StreamOptions } from './message-stream.js';
import {
  fromBase64,
  generateDeviceKeys,
  openSealedJson,
  publicDeviceKeys,
  ready,
  SharedBoxKeys,
  signChallenge,
  toBase64,
  type DeviceKeyPairs,
} from './crypto.js';
import {
  DevicesMissingError,
  DevicesStaleError,
  SupernodeError,
  UnauthorizedError,
} from './errors.js';
import { fetchTransport, type HttpTransport, requestJson } from './http.js';
import type {
  Accepted,
  Conversation,
  ConversationPage,
  CreatedDevice,
  DeviceSummary,
  DirectoryEntry,
  InboxMessage,
  MessageStatus,
  PushNotice,
  ReceivedMessage,
  Recipient,
  SendOptions,
  CallSignal,
  TurnCredentials,
  TypingSignal,
  WebPushSubscription,
} from './types.js';

// A send retried after 409/410 more often than this means the devices keep changing.
const MAX_COVERAGE_ROUNDS = 4;

/** Everything a device needs to come back later: ids and its private keys. Keep it secret. */
export interface DeviceIdentity {
  accountId: string;
  deviceId: string;
  keys: DeviceKeyPairs;
}

export interface ConnectionOptions {
  /** How HTTP requests reach the server; `fetch` against the base URL by default. */
  transport?: HttpTransport;
}

export interface ClientOptions extends ConnectionOptions {
  /** Name shown in the account's device list. */
  deviceName?: string;
}

export interface ResumeOptions extends ConnectionOptions {
  /**
   * A token from this device's earlier login (`currentToken`), to skip a
   * login; once it expires, the client logs in again by itself.
   */
  token?: string;
}

/** How long a call invitation rings (an urgent send allows at most 120 s). */
export const CALL_INVITE_TTL_SECONDS = 60;

/**
 * A Supernode client for one device. Private keys never leave it; the server
 * sees public keys, signatures and ciphertext only.
 */
export class SupernodeClient {
  private token: string | undefined;
  /** Public keys of the devices this client writes to and reads from. */
  protected readonly directory = new DeviceDirectory();
  /** Shared keys with the devices this one writes to and reads from, computed once each. */
  private readonly boxKeys: SharedBoxKeys;
  /** Handles of the accounts met so far (handleOf). */
  private readonly handles = new Map<string, string>();

  protected constructor(
    readonly baseUrl: string,
    readonly identity: DeviceIdentity,
    private readonly transport: HttpTransport,
    token?: string,
  ) {
    this.boxKeys = new SharedBoxKeys(identity.keys.boxSecretKey);
    this.token = token;
  }

  get accountId(): string {
    return this.identity.accountId;
  }

  get deviceId(): string {
    return this.identity.deviceId;
  }

  /** The current bearer token (after login), e.g. to open the stream by hand. */
  get currentToken(): string | undefined {
    return this.token;
  }

  /** Creates an account with this new device as its first one, and logs in. */
  static createAccount(
    baseUrl: string,
    handle: string,
    options: ClientOptions = {},
  ): Promise<SupernodeClient> {
    return this.registerDevice(baseUrl, '/v1/accounts', { handle }, options);
  }

  /** Adds a new device to an account with a link code made by one of its devices, and logs in. */
  static linkDevice(
    baseUrl: string,
    code: string,
    options: ClientOptions = {},
  ): Promise<SupernodeClient> {
    return this.registerDevice(baseUrl, '/v1/devices', { code }, options);
  }

  // Both ways of creating a device: fresh keys, the public half sent with `fields`, then login.
  private static async registerDevice(
    baseUrl: string,
    path: string,
    fields: Record<string, string>,
    options: ClientOptions,
  ): Promise<SupernodeClient> {
    await ready();
    const keys = generateDeviceKeys();
    const transport = options.transport ?? fetchTransport(baseUrl);
    const created = await requestJson<CreatedDevice>(transport, 'POST', path, {
      body: {
        ...fields,
        device: { name: options.deviceName ?? 'device', ...publicDeviceKeys(keys) },
      },
    });
    const client = new this(baseUrl, { ...created, keys }, transport);
    await client.login();
    return client;
  }

  /**
   * A client for a device created earlier (see `identity`). Without a token
   * it logs in on its first request (or call `login`).
   */
  static async fromIdentity(
    baseUrl: string,
    identity: DeviceIdentity,
    options: ResumeOptions = {},
  ): Promise<SupernodeClient> {
    await ready();
    return new this(baseUrl, identity, options.transport ?? fetchTransport(baseUrl), options.token);
  }

  /** Challenge–response login: signs the server's challenge with the device's signing key. */
  async login(): Promise<void> {
    const { challenge } = await requestJson<{ challenge: string }>(
      this.transport,
      'POST',
      '/v1/auth/challenge',
      { body: { deviceId: this.deviceId } },
    );
    const signature = signChallenge(fromBase64(challenge), this.identity.keys.signingSecretKey);
    const { token } = await requestJson<{ token: string }>(
      this.transport,
      'POST',
      '/v1/auth/token',
      {
        body: { deviceId: this.deviceId, challenge, signature: toBase64(signature) },
      },
    );
    this.token = token;
  }

  /** An authenticated request; logs in again once if the token has expired. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.token) await this.login();
    try {
      return await requestJson<T>(this.transport, method, path, { token: this.token, body });
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) throw error;
      await this.login();
      return requestJson<T>(this.transport, method, path, { token: this.token, body });
    }
  }

  /** A single-use code another device of this account's owner can link with. */
  createLinkCode(): Promise<{ code: string; expiresAt: string }> {
    return this.request('POST', '/v1/devices/link-codes');
  }

  /** The account's current devices. */
  async listDevices(): Promise<DeviceSummary[]> {
    return (await this.request<{ devices: DeviceSummary[] }>('GET', '/v1/devices')).devices;
  }

  /** Revokes a device of this account (this one included): its tokens and connection end. */
  async revokeDevice(deviceId: string): Promise<void> {
    await this.request('DELETE', `/v1/devices/${encodeURIComponent(deviceId)}`);
  }

  /** An account and its current devices' public keys, by handle. */
  lookupHandle(handle: string): Promise<DirectoryEntry> {
    return this.request('GET', `/v1/directory/${encodeURIComponent(handle)}`);
  }

  /** An account's current devices' public keys, by account id. */
  devicesOf(accountId: string): Promise<DirectoryEntry> {
    return this.request('GET', `/v1/accounts/${encodeURIComponent(accountId)}/devices`);
  }

  /** An account's handle (to show who wrote), asked of the directory once per account. */
  async handleOf(accountId: string): Promise<string> {
    let handle = this.handles.get(accountId);
    if (handle === undefined) {
      handle = (await this.devicesOf(accountId)).handle;
      this.handles.set(accountId, handle);
    }
    return handle;
  }

  // --- messages ---

  /**
   * Encrypts `content` (JSON) once, wraps its key for every device of the
   * recipients and for this account's other devices, and sends it. When the
   * server answers that devices were added (409) or removed (410), the SDK
   * learns them from the answer, re-wraps and resends by itself.
   */
  async send(to: Recipient, content: unknown, options: SendOptions = {}): Promise<Accepted> {
    const clientMessageId = options.clientMessageId ?? globalThis.crypto.randomUUID();
    const plaintext = new TextEncoder().encode(JSON.stringify(content));
    const target =
      'accountId' in to ? `account:${to.accountId}` : `conversation:${to.conversationId}`;
    for (let round = 1; ; round++) {
      const sealed = sealMessage(
        plaintext,
        { deviceId: this.deviceId, boxKeys: this.boxKeys },
        clientMessageId,
        this.directory.recipientsOf(target),
      );
      try {
        const accepted = await this.request<Omit<Accepted, 'clientMessageId'>>(
          'POST',
          '/v1/messages',
          {
            clientMessageId,
            to,
            ttlSeconds: options.ttlSeconds,
            // Only when set: a server older than these flags refuses unknown fields.
            ...(options.urgent ? { urgent: true } : {}),
            ...(options.ephemeral ? { ephemeral: true } : {}),
            ...sealed,
          },
        );
        return { ...accepted, clientMessageId };
      } catch (error) {
        if (
          !(error instanceof DevicesMissingError || error instanceof DevicesStaleError) ||
          round >= MAX_COVERAGE_ROUNDS
        ) {
          throw error;
        }
        const missing = (error.problem.missingDevices ?? []) as KnownDevice[];
        const stale = (error.problem.staleDevices ?? []) as string[];
        this.directory.update(target, missing, stale);
      }
    }
  }

  /** Sends a text message ({"type":"text","text":…}). */
  sendText(to: Recipient, text: string, options?: SendOptions): Promise<Accepted> {
    return this.send(to, { type: 'text', text }, options);
  }

  /** Up to `limit` messages pending for this device, oldest first, still encrypted. */
  fetchInbox(limit = 100): Promise<{ messages: InboxMessage[]; more: boolean }> {
    return this.request('GET', `/v1/inbox?limit=${limit}`);
  }

  /** Acknowledges messages: the server will not send them to this device again. */
  async ack(messageIds: string[]): Promise<number> {
    if (messageIds.length === 0) return 0;
    return (await this.request<{ acked: number }>('POST', '/v1/inbox/ack', { messageIds })).acked;
  }

  /**
   * Pulls every pending message, decrypts it, passes it to `handler`, and acks
   * it once the handler has returned; returns the messages handled.
   */
  async sync(
    handler: (message: ReceivedMessage) => Promise<void> | void = () => undefined,
    pageSize = 100,
  ) {
    const handled: ReceivedMessage[] = [];
    for (;;) {
      const page = await this.fetchInbox(pageSize);
      for (const message of page.messages) {
        const received = await this.decrypt(message);
        await handler(received);
        handled.push(received);
      }
      await this.ack(page.messages.map((message) => message.messageId));
      if (!page.more) return handled;
    }
  }

  /** Decrypts an InboxMessage addressed to this device, checking the sender device's signed key. */
  async decrypt(message: InboxMessage): Promise<ReceivedMessage> {
    let senderBoxKey = this.directory.boxKeyOf(message.senderDeviceId);
    if (!senderBoxKey) {
      this.directory.rememberEntry(await this.devicesOf(message.senderAccountId));
      senderBoxKey = this.directory.boxKeyOf(message.senderDeviceId);
    }
    if (!senderBoxKey) {
      throw new SupernodeError(
        0,
        'sender_unknown',
        `Device ${message.senderDeviceId} is not in the directory`,
        {},
      );
    }
    const plaintext = openMessage(message, senderBoxKey, this.boxKeys);
    const { body: _body, wrappedKey: _wrappedKey, ...envelope } = message;
    return { ...envelope, content: JSON.parse(new TextDecoder().decode(plaintext)) as unknown };
  }

  /** Who of the addressed devices has acked a message this account sent. */
  messageStatus(messageId: string): Promise<MessageStatus> {
    return this.request('GET', `/v1/messages/${encodeURIComponent(messageId)}/status`);
  }

  // --- live stream ---

  /**
   * Opens the live stream: everything pending arrives first, then live
   * messages, each decrypted and passed to `handlers.onMessage`, acked once
   * the handler returns. Reconnects by itself until `close()`.
   */
  async connect(handlers: StreamHandlers, options?: StreamOptions): Promise<MessageStream> {
    const stream = new MessageStream(
      {
        streamUrl: () => new URL('/v1/stream', this.baseUrl.replace(/^http/, 'ws')).toString(),
        freshToken: async (forceLogin) => {
          if (forceLogin || !this.token) await this.login();
          return this.token as string;
        },
        decrypt: (message) => this.decrypt(message),
      },
      handlers,
      options,
    );
    await stream.open();
    return stream;
  }

  // --- conversations ---

  /** A conversation with these accounts (and this one, as owner). */
  async createConversation(memberAccountIds: string[], title?: string): Promise<string> {
    const created = await this.request<{ conversationId: string }>('POST', '/v1/conversations', {
      members: memberAccountIds,
      title,
    });
    return created.conversationId;
  }

  /**
   * One page of this account's conversations (in id order). Pass the answer's
   * `next` as `after` for the following page; `next` is null on the last.
   */
  listConversations(options: { limit?: number; after?: string } = {}): Promise<ConversationPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.after !== undefined) query.set('after', options.after);
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    return this.request('GET', `/v1/conversations${suffix}`);
  }

  getConversation(conversationId: string): Promise<Conversation> {
    return this.request('GET', `/v1/conversations/${encodeURIComponent(conversationId)}`);
  }

  async addMember(conversationId: string, accountId: string): Promise<void> {
    await this.request('POST', `/v1/conversations/${encodeURIComponent(conversationId)}/members`, {
      accountId,
    });
  }

  /**
   * Deletes this account for good: every device is revoked (streams close
   * with 4403), pending messages, subscriptions and memberships go, the handle
   * is free. What it sent stays with its recipients until acked or expired.
   */
  async deleteAccount(): Promise<void> {
    await this.request('DELETE', '/v1/accounts/self');
  }

  // --- calls and typing (docs/calls.md) ---

  /** Credentials for the server's TURN servers (503 turn_unavailable when there are none). */
  turnCredentials(): Promise<TurnCredentials> {
    return this.request('GET', '/v1/calls/turn');
  }

  /** Rings the recipients' devices: an urgent send, stored until it is answered or expires. */
  inviteToCall(
    to: Recipient,
    invite: Omit<Extract<CallSignal, { type: 'call-invite' }>, 'type'>,
    ttlSeconds = CALL_INVITE_TTL_SECONDS,
  ): Promise<Accepted> {
    return this.send(to, { type: 'call-invite', ...invite }, { urgent: true, ttlSeconds });
  }

  /** An answer, ICE candidate or hang-up: ephemeral, to the devices with a stream open. */
  signalCall(
    to: Recipient,
    signal: Exclude<CallSignal, { type: 'call-invite' }>,
  ): Promise<Accepted> {
    return this.send(to, signal, { ephemeral: true, ttlSeconds: CALL_INVITE_TTL_SECONDS });
  }

  /** Tells the recipients' open streams that this user is (or stopped) typing. */
  sendTyping(to: Recipient, typing: boolean): Promise<Accepted> {
    const signal: TypingSignal = { type: 'typing', typing };
    return this.send(to, signal, { ephemeral: true, ttlSeconds: CALL_INVITE_TTL_SECONDS });
  }

  // --- wake-up pushes (docs/push.md) ---

  /** The server's VAPID public key (base64url): a browser's `applicationServerKey`. */
  async vapidPublicKey(): Promise<string> {
    return (await this.request<{ publicKey: string }>('GET', '/v1/push/vapid')).publicKey;
  }

  /** Registers this device's Web Push subscription (replacing any earlier one). */
  async registerPush(subscription: WebPushSubscription): Promise<void> {
    await this.request('PUT', '/v1/devices/self/push', subscription);
  }

  async unregisterPush(): Promise<void> {
    await this.request('DELETE', '/v1/devices/self/push');
  }

  /**
   * Opens a push's payload (what the service worker's `event.data` holds,
   * after the browser's Web Push decryption): sealed to this device's box key.
   */
  openPushPayload(sealed: Uint8Array): PushNotice {
    return openSealedJson(sealed, this.identity.keys) as PushNotice;
  }

  /** Removes a member (the owner removes anyone; a member removes only themself). */
  async removeMember(conversationId: string, accountId: string): Promise<void> {
    await this.request(
      'DELETE',
      `/v1/conversations/${encodeURIComponent(conversationId)}/members/${encodeURIComponent(accountId)}`,
    );
  }
}
