import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type DeviceIdentity, fromBase64, toBase64 } from '@supernode/client';

/** What the CLI keeps of its device: who it is, its private keys, its last token. */
export interface SavedDevice {
  server: string;
  handle: string;
  identity: DeviceIdentity;
  token?: string;
}

interface DeviceFileJson {
  server: string;
  handle: string;
  accountId: string;
  deviceId: string;
  keys: Record<keyof DeviceIdentity['keys'], string>;
  token?: string;
}

export class DeviceFileError extends Error {}

export function defaultDeviceFile(): string {
  return (
    process.env.SUPERNODE_DEVICE_FILE ??
    path.join(os.homedir(), '.config', 'supernode', 'device.json')
  );
}

/**
 * Reads the device file. It holds private keys and a token, so a file that
 * others can read is refused rather than used, as ssh does with its keys.
 */
export async function readDeviceFile(file: string): Promise<SavedDevice> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch {
    throw new DeviceFileError(
      `no device at ${file}: run "supernode register <handle>" or "supernode link use <code>" first`,
    );
  }
  if (mode & 0o077)
    throw new DeviceFileError(
      `${file} can be read by others (mode ${(mode & 0o777).toString(8)}); it holds private keys: chmod 600 it`,
    );
  const json = JSON.parse(await readFile(file, 'utf8')) as DeviceFileJson;
  return {
    server: json.server,
    handle: json.handle,
    token: json.token,
    identity: {
      accountId: json.accountId,
      deviceId: json.deviceId,
      keys: {
        signingPublicKey: fromBase64(json.keys.signingPublicKey),
        signingSecretKey: fromBase64(json.keys.signingSecretKey),
        boxPublicKey: fromBase64(json.keys.boxPublicKey),
        boxSecretKey: fromBase64(json.keys.boxSecretKey),
      },
    },
  };
}

/** Writes the device file with owner-only permissions, replacing it in one step. */
export async function writeDeviceFile(file: string, device: SavedDevice): Promise<void> {
  const { keys } = device.identity;
  const json: DeviceFileJson = {
    server: device.server,
    handle: device.handle,
    accountId: device.identity.accountId,
    deviceId: device.identity.deviceId,
    keys: {
      signingPublicKey: toBase64(keys.signingPublicKey),
      signingSecretKey: toBase64(keys.signingSecretKey),
      boxPublicKey: toBase64(keys.boxPublicKey),
      boxSecretKey: toBase64(keys.boxSecretKey),
    },
    token: device.token,
  };
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

/** Refuses to overwrite a device: its keys would be lost for good. */
export async function ensureNoDeviceFile(file: string): Promise<void> {
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (exists)
    throw new DeviceFileError(
      `${file} already holds a device; pass --device-file to keep another one`,
    );
}
