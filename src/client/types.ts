import type { PublicDeviceKeys } from './crypto.js';

export interface CreatedDevice {
  accountId: string;
  deviceId: string;
}

export interface DeviceSummary {
  deviceId: string;
  name: string;
  createdAt: string;
  lastSeenAt: string | null;
}

export interface DirectoryDevice extends PublicDeviceKeys {
  deviceId: string;
}

export interface DirectoryEntry {
  accountId: string;
  handle: string;
  devices: DirectoryDevice[];
}
