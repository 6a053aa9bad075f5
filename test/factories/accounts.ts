import { randomBytes } from 'node:crypto';
import { SupernodeClient } from '@supernode/client';

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

/** Alice with a phone and a laptop, Bob with a phone and a tablet: the multi-device cast. */
export async function aliceAndBobWithTwoDevicesEach(baseUrl: string) {
  const alice = await newAccount(baseUrl, 'alice');
  const aliceLaptop = await linkDevice(alice, 'laptop');
  const bob = await newAccount(baseUrl, 'bob');
  const bobTablet = await linkDevice(bob, 'tablet');
  return { alice, aliceLaptop, bob, bobTablet };
}
