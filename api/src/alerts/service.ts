import type { Queryable } from '@clutch/db';
import type { Scope } from '../auth/principal.js';
import { resolveRange } from '../telemetry/service.js';
import { assertVehicle, toIso } from '../vehicles/service.js';
import { AlertsRepository, type AlertRow } from './repository.js';

export interface Alert {
  id: string;
  time: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  title: string;
  explanation: string;
  signals: string[];
  details: Record<string, unknown>;
  modelVersion: string | null;
  acknowledgedAt: string | null;
}

export interface AlertQuery {
  from?: Date | undefined;
  to?: Date | undefined;
  limit: number;
  unacknowledged: boolean;
}

export const ALERTS_DEFAULT_WINDOW_MS = 30 * 24 * 3600_000;

export function toAlert(row: AlertRow): Alert {
  return {
    id: String(row.id), time: toIso(row.time) ?? '', kind: row.kind, severity: row.severity, title: row.title, explanation: row.explanation,
    signals: row.signals, details: row.details, modelVersion: row.model_version, acknowledgedAt: toIso(row.acknowledged_at),
  };
}

export class AlertsService {
  constructor(private readonly now: () => Date = () => new Date()) {}

  async list(scope: Scope, vehicleId: string, query: AlertQuery): Promise<{ vehicleId: string; from: string; to: string; alerts: Alert[] }> {
    const { from, to } = resolveRange(query.from, query.to, ALERTS_DEFAULT_WINDOW_MS, this.now());
    const rows = await scope.run(async (q) => {
      await assertVehicle(q, vehicleId);
      return new AlertsRepository(q).list(vehicleId, { from, to, limit: query.limit, unacknowledgedOnly: query.unacknowledged });
    });
    return { vehicleId, from: from.toISOString(), to: to.toISOString(), alerts: rows.map(toAlert) };
  }

  /** Recent alerts inside the caller's transaction (health summary). */
  async recent(q: Queryable, vehicleId: string, sinceMs: number, limit: number): Promise<Alert[]> {
    const to = this.now();
    const rows = await new AlertsRepository(q).list(vehicleId, { from: new Date(to.getTime() - sinceMs), to, limit, unacknowledgedOnly: false });
    return rows.map(toAlert);
  }
}
