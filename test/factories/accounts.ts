import { randomBytes } from 'node:crypto';
import { SupernodeClient } from '../../src/client/index.js';

export const uniqueHandle = (prefix = 'user'): string =>
  `${prefix}_${randomBytes(4).toString('hex')}`;

/** A new account with one logged-in device. */
export function newAccount(baseUrl: string, prefix?: string): Promise<SupernodeClient> {
  return SupernodeClient.createAccount(baseUrl, uniqueHandle(prefix), { deviceName: 'first' });
}

/** Another logged-in device on the account of `client`. */
export async function linkDevice(
  client: SupernodeClient,
  name = 'linked',
): Promise<SupernodeClient> {
  const { code } = await client.createLinkCode();
  return SupernodeClient.linkDevice(client.baseUrl, code, { deviceName: name });
}
