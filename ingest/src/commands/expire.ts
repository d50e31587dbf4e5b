import type { LiveEvent } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';

/**
 * Marks downlink commands whose deadline passed without an answer as timed out, so the API, the
 * dashboard and webhooks learn it when it happens rather than when someone next reads the command.
 * Returns the live events to publish.
 */
export async function expireCommands(db: Queryable, now = new Date()): Promise<LiveEvent[]> {
  const { rows } = await db.query<{ id: string; tenant_id: string; vehicle_id: string }>(
    `UPDATE device_commands SET status = 'timed_out', completed_at = $1
     WHERE status IN ('pending', 'sent') AND expires_at <= $1
     RETURNING id, tenant_id, vehicle_id`,
    [now.toISOString()],
  );
  return rows.map((r) => ({ type: 'command', tenantId: r.tenant_id, vehicleId: r.vehicle_id, commandId: String(r.id), status: 'timed_out' }));
}
