import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

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

/** Newest first, as the list always was; alerts_vehicle_idx (vehicle_id, time DESC) serves it. */
export const ALERTS_LISTING: Listing = { name: 'alerts', key: 'time', id: 'id', idType: 'bigint' };

export class AlertsRepository {
  constructor(private readonly db: Queryable) {}

  /** A page of one vehicle's alerts in [from, to], newest first. */
  list(
    vehicleId: string,
    filter: { from: Date; to: Date; unacknowledgedOnly: boolean },
    page: PageRequest,
  ): Promise<Page<AlertRow>> {
    return keysetPage<AlertRow>(
      this.db,
      ALERTS_LISTING,
      {
        sql: `SELECT id, time, kind, severity, title, explanation, signals, details, model_version, acknowledged_at
                FROM alerts
               WHERE vehicle_id = $1 AND time >= $2 AND time <= $3 AND (NOT $4 OR acknowledged_at IS NULL)`,
        params: [vehicleId, filter.from, filter.to, filter.unacknowledgedOnly],
      },
      page,
    );
  }

  /** The earliest alert dated after `at` (a device clock ahead): when a cached recent list stops being whole. */
  async nextAfter(vehicleId: string, at: Date): Promise<Date | string | null> {
    const { rows } = await this.db.query<{ at: Date | string | null }>(
      'SELECT min(time) AS at FROM alerts WHERE vehicle_id = $1 AND time > $2',
      [vehicleId, at],
    );
    return rows[0]?.at ?? null;
  }
}
