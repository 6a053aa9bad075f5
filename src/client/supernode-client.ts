import {
  fromBase64,
  generateDeviceKeys,
  publicDeviceKeys,
  ready,
  signChallenge,
  toBase64,
  type DeviceKeyPairs,
} from './crypto.js';
import { UnauthorizedError } from './errors.js';
import { requestJson } from './http.js';
import type { CreatedDevice, DeviceSummary, DirectoryEntry } from './types.js';

/** Everything a device needs to come back later: ids and its private keys. Keep it secret. */
export interface DeviceIdentity {
  accountId: string;
  deviceId: string;
  keys: DeviceKeyPairs;
}

export interface ClientOptions {
  /** Name shown in the account's device list. */
  deviceName?: string;
}

/**
 * A Supernode client for one device. Private keys never leave it; the server
 * sees public keys, signatures and ciphertext only.
 */
export class SupernodeClient {
  private token: string | undefined;

  protected constructor(
    readonly baseUrl: string,
    readonly identity: DeviceIdentity,
  ) {}

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
  static async createAccount(
    baseUrl: string,
    handle: string,
    options: ClientOptions = {},
  ): Promise<SupernodeClient> {
    await ready();
    const keys = generateDeviceKeys();
    const created = await requestJson<CreatedDevice>(baseUrl, 'POST', '/v1/accounts', {
      body: { handle, device: { name: options.deviceName ?? 'device', ...publicDeviceKeys(keys) } },
    });
    const client = new this(baseUrl, { ...created, keys });
    await client.login();
    return client;
  }

  /** Adds a new device to an account with a link code made by one of its devices, and logs in. */
  static async linkDevice(
    baseUrl: string,
    code: string,
    options: ClientOptions = {},
  ): Promise<SupernodeClient> {
    await ready();
    const keys = generateDeviceKeys();
    const created = await requestJson<CreatedDevice>(baseUrl, 'POST', '/v1/devices', {
      body: { code, device: { name: options.deviceName ?? 'device', ...publicDeviceKeys(keys) } },
    });
    const client = new this(baseUrl, { ...created, keys });
    await client.login();
    return client;
  }

  /** A client for a device created earlier (see `identity`); call `login` before use. */
  static async fromIdentity(baseUrl: string, identity: DeviceIdentity): Promise<SupernodeClient> {
    await ready();
    return new this(baseUrl, identity);
  }

  /** Challenge–response login: signs the server's challenge with the device's signing key. */
  async login(): Promise<void> {
    const { challenge } = await requestJson<{ challenge: string }>(
      this.baseUrl,
      'POST',
      '/v1/auth/challenge',
      {
        body: { deviceId: this.deviceId },
      },
    );
    const signature = signChallenge(fromBase64(challenge), this.identity.keys.signingSecretKey);
    const { token } = await requestJson<{ token: string }>(this.baseUrl, 'POST', '/v1/auth/token', {
      body: { deviceId: this.deviceId, challenge, signature: toBase64(signature) },
    });
    this.token = token;
  }

  /** An authenticated request; logs in again once if the token has expired. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.token) await this.login();
    try {
      return await requestJson<T>(this.baseUrl, method, path, { token: this.token, body });
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) throw error;
      await this.login();
      return requestJson<T>(this.baseUrl, method, path, { token: this.token, body });
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
}
