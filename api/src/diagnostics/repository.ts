import type { Queryable } from '@clutch/db';

export interface DtcRow {
  time: Date | string;
  code: string;
  kind: 'stored' | 'pending' | 'permanent';
  ecu: string | null;
}

export interface CodeSummaryRow {
  code: string;
  first_seen: Date | string;
  last_seen: Date | string;
  reports: number;
}

export class DiagnosticsRepository {
  constructor(private readonly db: Queryable) {}

  /** Codes of the most recent `reports` reports (a report = one time), newest first. */
  async recentReports(vehicleId: string, reports: number): Promise<DtcRow[]> {
    const { rows } = await this.db.query<DtcRow>(
      `SELECT time, code, kind, ecu FROM dtc_events
        WHERE vehicle_id = $1
          AND time IN (SELECT DISTINCT time FROM dtc_events WHERE vehicle_id = $1 ORDER BY time DESC LIMIT $2)
        ORDER BY time DESC, code, kind`,
      [vehicleId, reports],
    );
    return rows;
  }

  async codeSummary(vehicleId: string): Promise<CodeSummaryRow[]> {
    const { rows } = await this.db.query<CodeSummaryRow>(
      `SELECT code, min(time) AS first_seen, max(time) AS last_seen, count(DISTINCT time)::int AS reports
         FROM dtc_events WHERE vehicle_id = $1
        GROUP BY code ORDER BY max(time) DESC, code`,
      [vehicleId],
    );
    return rows;
  }

  /** Time of the car's newest trouble-code report, including reports without codes. */
  async lastReportAt(vehicleId: string): Promise<Date | string | null> {
    const { rows } = await this.db.query<{ at: Date | string | null }>(
      'SELECT max(time) AS at FROM dtc_reports WHERE vehicle_id = $1',
      [vehicleId],
    );
    return rows[0]?.at ?? null;
  }

  /** When a clear_dtcs command last succeeded: codes reported before it are no longer current. */
  async lastCleared(vehicleId: string): Promise<Date | string | null> {
    const { rows } = await this.db.query<{ at: Date | string | null }>(
      `SELECT max(completed_at) AS at FROM device_commands WHERE vehicle_id = $1 AND type = 'clear_dtcs' AND status = 'succeeded'`,
      [vehicleId],
    );
    return rows[0]?.at ?? null;
  }
}
