import type { Queryable } from '@clutch/db';

/**
 * Owner of what ingest learns about a device: `devices.last_seen_at`, `last_seq`, `online` and
 * `presence_changed_at`. The row itself (tenant, id, vehicle binding) is created by provisioning
 * (identity/src/devices/provisioning.ts); ingest only reads the binding (processors/resolve-device.ts).
 */

export interface DeviceProgress {
  tenantId: string;
  deviceId: string;
  seq: number | null;
  seenAt: Date;
}

/**
 * Folds updates into one entry per device (keyed tenant and device) holding the newest contact time
 * and the highest seq: progress only ever moves forward. Returns `into`.
 */
export function coalesceProgress(
  into: Map<string, DeviceProgress>,
  updates: Iterable<DeviceProgress>,
): Map<string, DeviceProgress> {
  for (const u of updates) {
    const key = `${u.tenantId}/${u.deviceId}`;
    const seen = into.get(key);
    if (!seen) into.set(key, { ...u });
    else {
      // getTime(): a relational operator on two Dates converts each through Symbol.toPrimitive, slowly.
      if (u.seenAt.getTime() > seen.seenAt.getTime()) seen.seenAt = u.seenAt;
      if (u.seq !== null && (seen.seq === null || u.seq > seen.seq)) seen.seq = u.seq;
    }
  }
  return into;
}

/** Records the newest seq and contact time per device (presence and gap detection): one statement per call. */
export async function touchDevices(tx: Queryable, updates: readonly DeviceProgress[]): Promise<void> {
  if (updates.length === 0) return;
  const rows = [...coalesceProgress(new Map(), updates).values()].sort((a, b) =>
    a.tenantId + a.deviceId < b.tenantId + b.deviceId ? -1 : 1,
  ); // one lock order
  await tx.query(
    `UPDATE devices d SET last_seen_at = GREATEST(coalesce(d.last_seen_at, u.seen_at), u.seen_at),
       last_seq = CASE WHEN u.seq IS NULL THEN d.last_seq ELSE GREATEST(coalesce(d.last_seq, u.seq), u.seq) END
     FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[]) AS u(tenant_id, device_id, seen_at, seq)
     WHERE d.tenant_id = u.tenant_id AND d.id = u.device_id`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.deviceId),
      rows.map((r) => r.seenAt.toISOString()),
      rows.map((r) => r.seq),
    ],
  );
}

export interface PresenceChange {
  tenantId: string;
  deviceId: string;
  online: boolean;
  at: Date;
}

/** Applies a status message (retained online, or the Last Will's offline) unless a newer one won. */
export async function recordPresence(tx: Queryable, changes: readonly PresenceChange[]): Promise<void> {
  for (const c of changes) {
    await tx.query(
      `UPDATE devices SET online = $3, presence_changed_at = $4
       WHERE tenant_id = $1 AND id = $2 AND (presence_changed_at IS NULL OR presence_changed_at <= $4)`,
      [c.tenantId, c.deviceId, c.online, c.at.toISOString()],
    );
  }
}
