import type { Queryable } from '@clutch/db';

export type CommandStatus = 'pending' | 'sent' | 'succeeded' | 'failed' | 'timed_out';

export interface CommandRow {
  id: string;
  tenant_id: string;
  device_id: string;
  vehicle_id: string;
  type: string;
  params: Record<string, unknown>;
  status: CommandStatus;
  result: unknown;
  error: string | null;
  created_at: Date | string;
  expires_at: Date | string;
  completed_at: Date | string | null;
}

const COLUMNS = 'id, tenant_id, device_id, vehicle_id, type, params, status, result, error, created_at, expires_at, completed_at';

export class CommandsRepository {
  constructor(private readonly db: Queryable) {}

  /** A pending command; the expiry is the database clock plus the timeout, the clock ingest compares against. */
  async insert(c: { tenantId: string; deviceId: string; vehicleId: string; type: string; params: Record<string, unknown>; timeoutMs: number }): Promise<CommandRow> {
    const { rows } = await this.db.query<CommandRow>(
      `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, params, expires_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, now() + $6 * interval '1 millisecond')
       RETURNING ${COLUMNS}`,
      [c.tenantId, c.deviceId, c.vehicleId, c.type, JSON.stringify(c.params), c.timeoutMs],
    );
    return rows[0]!;
  }

  /** pending -> sent; a result that already arrived (succeeded/failed) is left alone. */
  async markSent(id: string): Promise<CommandRow | undefined> {
    await this.db.query(`UPDATE device_commands SET status = 'sent' WHERE id = $1 AND status = 'pending'`, [id]);
    return this.find(id);
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.db.query(
      `UPDATE device_commands SET status = 'failed', error = $2, completed_at = now() WHERE id = $1 AND status IN ('pending', 'sent')`,
      [id, error],
    );
  }

  /**
   * Marks unanswered commands past their expiry as timed out (of one command, or of one vehicle) and
   * returns the ids it changed. Lazy: nothing sweeps in the background, the reader settles them.
   */
  async expire(filter: { id: string } | { vehicleId: string }): Promise<CommandRow[]> {
    const [column, value] = 'id' in filter ? ['id', filter.id] : ['vehicle_id', filter.vehicleId];
    const { rows } = await this.db.query<CommandRow>(
      `UPDATE device_commands SET status = 'timed_out', completed_at = expires_at
        WHERE ${column} = $1 AND status IN ('pending', 'sent') AND expires_at <= now()
        RETURNING ${COLUMNS}`,
      [value],
    );
    return rows;
  }

  async find(id: string): Promise<CommandRow | undefined> {
    const { rows } = await this.db.query<CommandRow>(`SELECT ${COLUMNS} FROM device_commands WHERE id = $1`, [id]);
    return rows[0];
  }

  async listForVehicle(vehicleId: string, limit: number): Promise<CommandRow[]> {
    const { rows } = await this.db.query<CommandRow>(
      `SELECT ${COLUMNS} FROM device_commands WHERE vehicle_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
      [vehicleId, limit],
    );
    return rows;
  }
}
