import type { Queryable } from '@clutch/db';
import type { Scope } from '../auth/scope.js';
import { toIso } from '../shared/time.js';
import { assertVehicle } from '../shared/vehicle-guard.js';
import { requireVehicleData } from '../vehicles/access.js';
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
  /**
   * What to call next: `interpret` is the request that explains the current codes (or, without
   * current ones, every code seen) with severity, causes, repair and nearby prices.
   */
  links: { interpret: { method: 'POST'; href: string; body: { codes: string[]; vehicleId: string } } | null };
}

/** The interpretation route (api/src/error-codes/routes.ts), under the API prefix. */
export const INTERPRET_HREF = '/api/obd2/error-codes';
/** Its bound on codes per request. */
const INTERPRET_MAX_CODES = 20;

export const isMilRelevant = (kind: string): boolean => kind === 'stored' || kind === 'permanent';

export class DiagnosticsService {
  constructor(private readonly descriptions: () => Promise<DtcDescriptions>) {}

  /** The loaded descriptions (the error-code interpretation describes codes with the same table). */
  describer(): Promise<DtcDescriptions> {
    return this.descriptions();
  }

  async get(scope: Scope, vehicleId: string, historyReports: number): Promise<Diagnostics> {
    const [data, descriptions] = await Promise.all([
      scope.run((q) => this.read(q, vehicleId, historyReports, 'dtc:read')),
      this.descriptions(),
    ]);
    return this.assemble(vehicleId, data, descriptions);
  }

  /** The current codes only, for summaries (inside the caller's transaction). */
  async current(q: Queryable, vehicleId: string): Promise<CurrentCode[]> {
    const [data, descriptions] = await Promise.all([this.read(q, vehicleId, 1), this.descriptions()]);
    return this.assemble(vehicleId, data, descriptions).current;
  }

  /**
   * `current` for a caller whose transaction has checked the vehicle already (the health summary):
   * no second check, and the newest report's codes, their first sightings, the last report and the
   * last clear in one statement instead of four.
   */
  async currentOfCheckedVehicle(q: Queryable, vehicleId: string): Promise<CurrentCode[]> {
    const [state, descriptions] = await Promise.all([
      new DiagnosticsRepository(q).currentState(vehicleId),
      this.descriptions(),
    ]);
    const firstSeen = new Map(state.codes.map((c) => [c.code, c.first_seen]));
    return currentCodes(state.codes, firstSeen, state.cleared, state.lastReport, descriptions).current;
  }

  /**
   * `dtc:read`: the route's guard, so a vehicle shared with the caller without trouble codes answers
   * 404 like a missing one (migration 029); `visible`: any vehicle the transaction sees, for callers
   * that summarise (row-level security still hides codes the caller may not read).
   */
  private async read(
    q: Queryable,
    vehicleId: string,
    historyReports: number,
    guard: 'dtc:read' | 'visible' = 'visible',
  ) {
    if (guard === 'dtc:read') await requireVehicleData(q, vehicleId, 'dtc:read');
    else await assertVehicle(q, vehicleId);
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
    const firstSeen = new Map(summary.map((s) => [s.code, s.first_seen]));
    const { current, latest } = currentCodes(recent, firstSeen, cleared, lastReport, d);
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
      links: { interpret: interpretLink(vehicleId, current.length > 0 ? current : summary) },
    };
  }
}

/**
 * The codes of the newest report (`recent`, newest first), when they are still current: the latest
 * report is the current state (a newer report without codes means they are gone), unless a
 * successful clear command came after it. `latest`: the newest report's time, with or without codes.
 */
function currentCodes(
  recent: readonly DtcRow[],
  firstSeen: ReadonlyMap<string, Date | string>,
  cleared: Date | string | null,
  lastReport: Date | string | null,
  d: DtcDescriptions,
): { current: CurrentCode[]; latest: number | undefined } {
  const latestWithCodes = recent[0] ? new Date(recent[0].time).getTime() : undefined;
  const reportMs = lastReport === null ? undefined : new Date(lastReport).getTime();
  const latest =
    reportMs !== undefined && (latestWithCodes === undefined || reportMs > latestWithCodes)
      ? reportMs
      : latestWithCodes;
  const clearedMs = cleared === null ? undefined : new Date(cleared).getTime();
  const stillCurrent =
    latestWithCodes !== undefined && latestWithCodes === latest && (clearedMs === undefined || clearedMs < latest);
  const current = stillCurrent
    ? recent
        .filter((r) => new Date(r.time).getTime() === latestWithCodes)
        .map((r) => {
          const first = firstSeen.get(r.code);
          return {
            code: r.code,
            kind: r.kind,
            ecu: r.ecu,
            description: d.describe(r.code),
            system: SYSTEMS[r.code[0]!]!,
            milRelevant: isMilRelevant(r.kind),
            firstSeen: first === undefined ? '' : (toIso(first) ?? ''),
          };
        })
    : [];
  return { current, latest };
}

function interpretLink(vehicleId: string, codes: readonly { code: string }[]): Diagnostics['links']['interpret'] {
  const distinct = [...new Set(codes.map((c) => c.code))].slice(0, INTERPRET_MAX_CODES);
  if (distinct.length === 0) return null;
  return { method: 'POST', href: INTERPRET_HREF, body: { codes: distinct, vehicleId } };
}
