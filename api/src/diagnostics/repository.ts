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

  /**
   * What the current codes are decided from, in one statement: the codes of the newest report with
   * codes (recentReports(1)) and each one's first sighting (codeSummary's first_seen), the newest
   * report at all (lastReportAt) and the last successful clear (lastCleared). A vehicle without
   * codes still gets one row, carrying the two times.
   */
  async currentState(vehicleId: string): Promise<{
    codes: (DtcRow & { first_seen: Date | string })[];
    lastReport: Date | string | null;
    cleared: Date | string | null;
  }> {
    const { rows } = await this.db.query<{
      time: Date | string | null;
      code: string | null;
      kind: DtcRow['kind'] | null;
      ecu: string | null;
      first_seen: Date | string | null;
      last_report: Date | string | null;
      cleared: Date | string | null;
    }>(
      `SELECT e.time, e.code, e.kind, e.ecu,
              (SELECT min(f.time) FROM dtc_events f WHERE f.vehicle_id = $1 AND f.code = e.code) AS first_seen,
              (SELECT max(r.time) FROM dtc_reports r WHERE r.vehicle_id = $1) AS last_report,
              (SELECT max(c.completed_at) FROM device_commands c
                WHERE c.vehicle_id = $1 AND c.type = 'clear_dtcs' AND c.status = 'succeeded') AS cleared
         FROM (SELECT max(time) AS time FROM dtc_events WHERE vehicle_id = $1) newest
         LEFT JOIN dtc_events e ON e.vehicle_id = $1 AND e.time = newest.time
        ORDER BY e.code, e.kind`,
      [vehicleId],
    );
    const first = rows[0];
    return {
      codes: rows.flatMap((r) =>
        r.time !== null && r.code !== null && r.kind !== null
          ? [{ time: r.time, code: r.code, kind: r.kind, ecu: r.ecu, first_seen: r.first_seen ?? r.time }]
          : [],
      ),
      lastReport: first?.last_report ?? null,
      cleared: first?.cleared ?? null,
    };
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
