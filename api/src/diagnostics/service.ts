import type { Queryable } from '@clutch/db';
import type { Scope } from '../auth/scope.js';
import { toIso } from '../shared/time.js';
import { assertVehicle } from '../shared/vehicle-guard.js';
import type { DtcDescriptions } from './dtc-descriptions.js';
import { DiagnosticsRepository, type DtcRow } from './repository.js';

export type DtcSystem = 'powertrain' | 'chassis' | 'body' | 'network';
const SYSTEMS: Record<string, DtcSystem> = { P: 'powertrain', C: 'chassis', B: 'body', U: 'network' };

export interface CurrentCode {
  code: string;
  kind: DtcRow['kind'];
  ecu: string | null;
  description: string | null;
  system: DtcSystem;
  /**
   * Stored (confirmed, Mode 03) and permanent (Mode 0A) codes are the ones that light the MIL;
   * pending codes (Mode 07) have failed one drive cycle and do not yet.
   */
  milRelevant: boolean;
  firstSeen: string;
}

export interface Diagnostics {
  vehicleId: string;
  /** Time of the latest trouble-code report; null when none was ever stored. */
  reportedAt: string | null;
  /** When a clear_dtcs command last succeeded. */
  clearedAt: string | null;
  /** Whether a current code is of a MIL-lighting kind (the MIL itself is not polled). */
  milOn: boolean;
  current: CurrentCode[];
  codes: {
    code: string;
    description: string | null;
    system: DtcSystem;
    firstSeen: string;
    lastSeen: string;
    reports: number;
  }[];
  history: { time: string; codes: { code: string; kind: string; ecu: string | null }[] }[];
}

export const isMilRelevant = (kind: string): boolean => kind === 'stored' || kind === 'permanent';

export class DiagnosticsService {
  constructor(private readonly descriptions: () => Promise<DtcDescriptions>) {}

  async get(scope: Scope, vehicleId: string, historyReports: number): Promise<Diagnostics> {
    const [data, descriptions] = await Promise.all([
      scope.run((q) => this.read(q, vehicleId, historyReports)),
      this.descriptions(),
    ]);
    return this.assemble(vehicleId, data, descriptions);
  }

  /** The current codes only, for summaries (inside the caller's transaction). */
  async current(q: Queryable, vehicleId: string): Promise<CurrentCode[]> {
    const [data, descriptions] = await Promise.all([this.read(q, vehicleId, 1), this.descriptions()]);
    return this.assemble(vehicleId, data, descriptions).current;
  }

  private async read(q: Queryable, vehicleId: string, historyReports: number) {
    await assertVehicle(q, vehicleId);
    const repo = new DiagnosticsRepository(q);
    const recent = await repo.recentReports(vehicleId, Math.max(1, historyReports));
    const summary = await repo.codeSummary(vehicleId);
    const cleared = await repo.lastCleared(vehicleId);
    const lastReport = await repo.lastReportAt(vehicleId);
    return { recent, summary, cleared, lastReport };
  }

  private assemble(
    vehicleId: string,
    data: Awaited<ReturnType<DiagnosticsService['read']>>,
    d: DtcDescriptions,
  ): Diagnostics {
    const { recent, summary, cleared, lastReport } = data;
    const latestWithCodes = recent[0] ? new Date(recent[0].time).getTime() : undefined;
    const reportMs = lastReport === null ? undefined : new Date(lastReport).getTime();
    const latest =
      reportMs !== undefined && (latestWithCodes === undefined || reportMs > latestWithCodes)
        ? reportMs
        : latestWithCodes;
    const clearedMs = cleared === null ? undefined : new Date(cleared).getTime();
    // The latest report is the current state (a newer report without codes means they are gone),
    // unless a successful clear command came after it.
    const stillCurrent =
      latestWithCodes !== undefined && latestWithCodes === latest && (clearedMs === undefined || clearedMs < latest);
    const firstSeen = new Map(summary.map((s) => [s.code, toIso(s.first_seen) ?? '']));
    const current = stillCurrent
      ? recent
          .filter((r) => new Date(r.time).getTime() === latestWithCodes)
          .map((r) => ({
            code: r.code,
            kind: r.kind,
            ecu: r.ecu,
            description: d.describe(r.code),
            system: SYSTEMS[r.code[0]!]!,
            milRelevant: isMilRelevant(r.kind),
            firstSeen: firstSeen.get(r.code) ?? '',
          }))
      : [];
    const history = new Map<number, Diagnostics['history'][number]>();
    for (const r of recent) {
      const t = new Date(r.time).getTime();
      let entry = history.get(t);
      if (!entry) history.set(t, (entry = { time: new Date(t).toISOString(), codes: [] }));
      entry.codes.push({ code: r.code, kind: r.kind, ecu: r.ecu });
    }
    return {
      vehicleId,
      reportedAt: latest === undefined ? null : new Date(latest).toISOString(),
      clearedAt: toIso(cleared),
      milOn: current.some((c) => c.milRelevant),
      current,
      codes: summary.map((s) => ({
        code: s.code,
        description: d.describe(s.code),
        system: SYSTEMS[s.code[0]!]!,
        firstSeen: toIso(s.first_seen) ?? '',
        lastSeen: toIso(s.last_seen) ?? '',
        reports: Number(s.reports),
      })),
      history: [...history.values()],
    };
  }
}
