import { customType, timestamp } from 'drizzle-orm/pg-core';

// Binary values (keys, signatures, ciphertext, hashes) are stored as bytea.
export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

export const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
