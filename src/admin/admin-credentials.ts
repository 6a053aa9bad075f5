import { Inject, Injectable } from '@nestjs/common';
import { and, eq, isNull } from 'drizzle-orm';
import { constantTimeEqual, hashSecret, randomBytes } from '../common/crypto.js';
import { uuidString } from '../common/validation.js';
import { DRIZZLE, type Database } from '../db/db.module.js';
import { adminCredentials } from '../db/schema/index.js';

// An admin credential reads "sna_<credential id>.<secret>": the id finds the row, the secret is checked against its hash.
const PREFIX = 'sna_';

export type AdminCheck =
  { kind: 'valid'; credentialId: string } | { kind: 'refused'; credentialId?: string };

/** The admin API's credentials: made by the operator (`npm run admin`), the secret kept only as a hash. */
@Injectable()
export class AdminCredentials {
  constructor(@Inject(DRIZZLE) private readonly db: Database) {}

  /** A new credential; its secret is in the returned token and nowhere else. */
  async create(name: string): Promise<{ id: string; token: string }> {
    const secret = randomBytes(32);
    const [row] = await this.db
      .insert(adminCredentials)
      .values({ name, secretHash: hashSecret(secret) })
      .returning({ id: adminCredentials.id });
    return { id: row.id, token: `${PREFIX}${row.id}.${secret.toString('base64url')}` };
  }

  async revoke(id: string): Promise<boolean> {
    const rows = await this.db
      .update(adminCredentials)
      .set({ revokedAt: new Date() })
      .where(and(eq(adminCredentials.id, id), isNull(adminCredentials.revokedAt)))
      .returning({ id: adminCredentials.id });
    return rows.length > 0;
  }

  list() {
    return this.db
      .select({
        id: adminCredentials.id,
        name: adminCredentials.name,
        createdAt: adminCredentials.createdAt,
        revokedAt: adminCredentials.revokedAt,
      })
      .from(adminCredentials)
      .orderBy(adminCredentials.createdAt);
  }

  /** Checks a presented token; names the credential when its id is a real one, refused or not. */
  async check(token: string | undefined): Promise<AdminCheck> {
    if (!token?.startsWith(PREFIX)) return { kind: 'refused' };
    const [idText, secretText, ...rest] = token.slice(PREFIX.length).split('.');
    const id = uuidString().safeParse(idText);
    if (!id.success || !secretText || rest.length > 0 || !/^[A-Za-z0-9_-]+$/.test(secretText))
      return { kind: 'refused' };
    const [row] = await this.db
      .select({ secretHash: adminCredentials.secretHash, revokedAt: adminCredentials.revokedAt })
      .from(adminCredentials)
      .where(eq(adminCredentials.id, id.data));
    if (!row) return { kind: 'refused' };
    const matches = constantTimeEqual(
      hashSecret(Buffer.from(secretText, 'base64url')),
      row.secretHash,
    );
    if (!matches || row.revokedAt) return { kind: 'refused', credentialId: id.data };
    return { kind: 'valid', credentialId: id.data };
  }
}
