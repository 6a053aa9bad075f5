import { Inject, Injectable } from '@nestjs/common';
import { and, eq, isNull } from 'drizzle-orm';
import type pg from 'pg';
import { DRIZZLE, type Database, type Executor, PG_POOL } from '../db/db.module.js';
import { devices, pushSubscriptions } from '../db/schema/index.js';
import { sqlNames } from '../db/sql-names.js';
import { preparedStatement } from '../db/statements.js';

export interface PushSubscriptionRecord {
  deviceId: string;
  endpoint: string;
  p256dh: Buffer;
  auth: Buffer;
}

/** A subscription with what a push to it needs: the device's own box key (the payload is sealed to it). */
export interface PushTarget extends PushSubscriptionRecord {
  boxKey: Buffer;
}

const SUBSCRIPTION = sqlNames(pushSubscriptions);

// Asked after every fan-out batch that has a device connected nowhere. One
// array parameter instead of drizzle's IN list: the text does not change with
// the batch's size, so it is built once and planned once per connection.
const SUBSCRIBED_AMONG = preparedStatement(
  'push-subscribed-among',
  `SELECT ${SUBSCRIPTION.deviceId} AS "deviceId" FROM ${SUBSCRIPTION.$table}
    WHERE ${SUBSCRIPTION.deviceId} = ANY($1::uuid[])`,
);

@Injectable()
export class PushSubscriptionsRepository {
  constructor(
    @Inject(DRIZZLE) private readonly db: Database,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  async save(subscription: PushSubscriptionRecord): Promise<void> {
    const { endpoint, p256dh, auth } = subscription;
    await this.db
      .insert(pushSubscriptions)
      .values(subscription)
      .onConflictDoUpdate({
        target: pushSubscriptions.deviceId,
        set: { endpoint, p256dh, auth, updatedAt: new Date() },
      });
  }

  async delete(executor: Executor, deviceId: string): Promise<void> {
    await executor.delete(pushSubscriptions).where(eq(pushSubscriptions.deviceId, deviceId));
  }

  /** Deletes the subscription only if it is still the one a push service refused (not a newer one). */
  async deleteIfEndpoint(deviceId: string, endpoint: string): Promise<boolean> {
    const deleted = await this.db
      .delete(pushSubscriptions)
      .where(
        and(eq(pushSubscriptions.deviceId, deviceId), eq(pushSubscriptions.endpoint, endpoint)),
      )
      .returning({ deviceId: pushSubscriptions.deviceId });
    return deleted.length > 0;
  }

  /** Those of the devices that have a subscription. */
  async subscribedAmong(deviceIds: string[]): Promise<Set<string>> {
    if (deviceIds.length === 0) return new Set();
    const result = await this.pool.query<{ deviceId: string }>({
      ...SUBSCRIBED_AMONG,
      values: [deviceIds],
    });
    return new Set(result.rows.map((row) => row.deviceId));
  }

  /** The device's subscription and box key, while the device is current. */
  async target(deviceId: string): Promise<PushTarget | undefined> {
    const [row] = await this.db
      .select({
        deviceId: pushSubscriptions.deviceId,
        endpoint: pushSubscriptions.endpoint,
        p256dh: pushSubscriptions.p256dh,
        auth: pushSubscriptions.auth,
        boxKey: devices.boxKey,
      })
      .from(pushSubscriptions)
      .innerJoin(devices, eq(devices.id, pushSubscriptions.deviceId))
      .where(and(eq(pushSubscriptions.deviceId, deviceId), isNull(devices.revokedAt)));
    return row;
  }
}
