import type { Queryable } from '@clutch/db';
import type { Scope } from '../auth/scope.js';
import type { PageRequest } from '../http/pagination.js';
import { resolveRange, toIso } from '../shared/time.js';
import { requireVehicle, type OwnVehicles } from '../vehicles/own-vehicles.js';
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

export interface AlertQuery extends PageRequest {
  from?: Date | undefined;
  to?: Date | undefined;
  unacknowledged: boolean;
}

export const ALERTS_DEFAULT_WINDOW_MS = 30 * 24 * 3600_000;
/** The page sizes the list had before it was paged (the dashboard asks for 50). */
export const ALERT_PAGE = { defaultLimit: 100, maxLimit: 1000 } as const;

export function toAlert(row: AlertRow): Alert {
  return {
    id: String(row.id),
    time: toIso(row.time) ?? '',
    kind: row.kind,
    severity: row.severity,
    title: row.title,
    explanation: row.explanation,
    signals: row.signals,
    details: row.details,
    modelVersion: row.model_version,
    acknowledgedAt: toIso(row.acknowledged_at),
  };
}

export class AlertsService {
  constructor(
    private readonly now: () => Date = () => new Date(),
    /** Vehicles a partner's tenant is known to own (own-vehicles.ts); absent, every request checks. */
    private readonly ownVehicles?: OwnVehicles,
  ) {}

  async list(
    scope: Scope,
    vehicleId: string,
    query: AlertQuery,
  ): Promise<{ vehicleId: string; from: string; to: string; alerts: Alert[]; next: string | null }> {
    const { from, to } = resolveRange(query.from, query.to, ALERTS_DEFAULT_WINDOW_MS, this.now());
    const page = await scope.run(async (q) => {
      await requireVehicle(this.ownVehicles, scope, q, vehicleId, 'telemetry:read');
      return new AlertsRepository(q).list(
        vehicleId,
        { from, to, unacknowledgedOnly: query.unacknowledged },
        { limit: query.limit, cursor: query.cursor },
      );
    });
    return {
      vehicleId,
      from: from.toISOString(),
      to: to.toISOString(),
      alerts: page.items.map(toAlert),
      next: page.next,
    };
  }

  /** Recent alerts inside the caller's transaction (health summary). */
  async recent(q: Queryable, vehicleId: string, sinceMs: number, limit: number): Promise<Alert[]> {
    const to = this.now();
    const page = await new AlertsRepository(q).list(
      vehicleId,
      { from: new Date(to.getTime() - sinceMs), to, unacknowledgedOnly: false },
      { limit },
    );
    return page.items.map(toAlert);
  }

  /**
   * recent(), and until when that list stays what recent() would answer if no alert were stored
   * meanwhile (ms): the oldest one leaving the window, or one dated ahead of the clock becoming due.
   */
  async recentUntil(
    q: Queryable,
    vehicleId: string,
    sinceMs: number,
    limit: number,
  ): Promise<{ alerts: Alert[]; validUntil: number }> {
    // Taken before recent() takes its own: an alert between the two is counted twice, never missed.
    const to = this.now();
    const alerts = await this.recent(q, vehicleId, sinceMs, limit);
    let validUntil = Infinity;
    for (const a of alerts) validUntil = Math.min(validUntil, Date.parse(a.time) + sinceMs);
    const next = toIso(await new AlertsRepository(q).nextAfter(vehicleId, to));
    if (next) validUntil = Math.min(validUntil, Date.parse(next));
    return { alerts, validUntil };
  }
}
