import type { Queryable } from '@clutch/db';

export interface AlertRow {
  id: string | number;
  time: Date | string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  title: string;
  explanation: string;
  signals: string[];
  details: Record<string, unknown>;
  model_version: string | null;
  acknowledged_at: Date | string | null;
}

export class AlertsRepository {
  constructor(private readonly db: Queryable) {}

  /** Alerts of one vehicle in [from, to], newest first. */
  async list(vehicleId: string, filter: { from: Date; to: Date; limit: number; unacknowledgedOnly: boolean }): Promise<AlertRow[]> {
    const { rows } = await this.db.query<AlertRow>(
      `SELECT id, time, kind, severity, title, explanation, signals, details, model_version, acknowledged_at
         FROM alerts
        WHERE vehicle_id = $1 AND time >= $2 AND time <= $3 AND (NOT $5 OR acknowledged_at IS NULL)
        ORDER BY time DESC, id DESC
        LIMIT $4`,
      [vehicleId, filter.from, filter.to, filter.limit, filter.unacknowledgedOnly],
    );
    return rows;
  }
}
