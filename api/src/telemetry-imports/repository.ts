import type { Queryable } from '@clutch/db';

/**
 * Owner of `telemetry_imports` (migration 043): one row per log file imported into a vehicle's
 * history, by upload or by `clutch import`. Plain queries; the rules are in service.ts and run.ts.
 */

export type ImportStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface ImportRow {
  id: string;
  tenant_id: string;
  vehicle_id: string;
  file_sha256: string;
  file_name: string | null;
  file_bytes: number;
  format: string | null;
  via: 'api' | 'cli';
  requested_by: string;
  status: ImportStatus;
  summary: unknown;
  error: { code: string; detail: string } | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

const COLUMNS = `id, tenant_id, vehicle_id, file_sha256, file_name, file_bytes, format, via, requested_by, status,
  summary, error, created_at, started_at, finished_at`;

export interface NewImport {
  tenantId: string;
  vehicleId: string;
  sha256: string;
  fileName: string | null;
  bytes: number;
  format: string | null;
  via: 'api' | 'cli';
  requestedBy: string;
  /** The upload's text, kept until its job ran (null: the CLI reads the file itself). */
  content: string | null;
}

export class TelemetryImportsRepository {
  constructor(private readonly q: Queryable) {}

  /** The new row, or null when this vehicle already has the file (same SHA-256): see `byFile`. */
  async insert(input: NewImport): Promise<ImportRow | null> {
    const { rows } = await this.q.query<ImportRow>(
      `INSERT INTO telemetry_imports (tenant_id, vehicle_id, file_sha256, file_name, file_bytes, format, via, requested_by, content)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (vehicle_id, file_sha256) DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        input.tenantId,
        input.vehicleId,
        input.sha256,
        input.fileName,
        input.bytes,
        input.format,
        input.via,
        input.requestedBy,
        input.content,
      ],
    );
    return rows[0] ?? null;
  }

  async byFile(vehicleId: string, sha256: string): Promise<ImportRow | null> {
    const { rows } = await this.q.query<ImportRow>(
      `SELECT ${COLUMNS} FROM telemetry_imports WHERE vehicle_id = $1 AND file_sha256 = $2`,
      [vehicleId, sha256],
    );
    return rows[0] ?? null;
  }

  async find(id: string): Promise<ImportRow | null> {
    const { rows } = await this.q.query<ImportRow>(`SELECT ${COLUMNS} FROM telemetry_imports WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  async listForVehicle(vehicleId: string, limit: number): Promise<ImportRow[]> {
    const { rows } = await this.q.query<ImportRow>(
      `SELECT ${COLUMNS} FROM telemetry_imports WHERE vehicle_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
      [vehicleId, limit],
    );
    return rows;
  }

  /**
   * Takes a queued (or failed, to try again) import for running, with the text it waits with; null
   * when it is already running or done (a redelivered job, a second `clutch import`).
   */
  async start(id: string): Promise<{ row: ImportRow; content: string | null } | null> {
    // A run that has said nothing for an hour died with its process: it may be taken again.
    const { rows } = await this.q.query<ImportRow & { content: string | null }>(
      `UPDATE telemetry_imports SET status = 'running', started_at = now(), finished_at = NULL, error = NULL
        WHERE id = $1
          AND (status IN ('queued', 'failed') OR (status = 'running' AND started_at < now() - interval '1 hour'))
        RETURNING ${COLUMNS}, content`,
      [id],
    );
    const row = rows[0];
    return row ? { row, content: row.content } : null;
  }

  /** Records how it ended; the uploaded text is dropped either way (the samples hold the data now). */
  async finish(
    id: string,
    outcome: { status: 'succeeded'; summary: unknown } | { status: 'failed'; error: { code: string; detail: string } },
  ): Promise<ImportRow | null> {
    const { rows } = await this.q.query<ImportRow>(
      `UPDATE telemetry_imports SET status = $2, summary = $3::jsonb, error = $4::jsonb, finished_at = now(), content = NULL
        WHERE id = $1
        RETURNING ${COLUMNS}`,
      [
        id,
        outcome.status,
        outcome.status === 'succeeded' ? JSON.stringify(outcome.summary) : null,
        outcome.status === 'failed' ? JSON.stringify(outcome.error) : null,
      ],
    );
    return rows[0] ?? null;
  }
}
