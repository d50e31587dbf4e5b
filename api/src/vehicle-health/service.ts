import { signalByKey } from '@clutch/contracts';
import type { Scope } from '../auth/scope.js';
import type { Alert, AlertsService } from '../alerts/service.js';
import type { CurrentCode, DiagnosticsService } from '../diagnostics/service.js';
import { toIso } from '../shared/time.js';
import type { TelemetryService } from '../telemetry/service.js';
import { readCalibration, type CalibrationReader, type VehicleCalibration } from './calibration.js';
import type { HealthPartsCache } from './parts-cache.js';

export type Severity = 'ok' | 'warning' | 'critical';

/** Operating ranges a mechanic would check first (not the encodable ranges of the catalogue). */
export interface RangeCheck {
  signal: string;
  min?: number;
  max?: number;
  /** How bad leaving the range is. */
  severity: Exclude<Severity, 'ok'>;
}

export const HEALTH_CHECKS: readonly RangeCheck[] = [
  // Thermostats open at 82-95 °C; above ~110 °C the cooling system is failing (boiling at 1 bar + cap).
  { signal: 'engine.coolant_temp', max: 110, severity: 'critical' },
  { signal: 'engine.oil_temp', max: 130, severity: 'warning' },
  // A 12 V lead-acid battery at rest below ~12.0 V is deeply discharged; above ~15 V the regulator overcharges.
  { signal: 'battery.voltage', min: 12.0, max: 15.0, severity: 'warning' },
  { signal: 'ecu.control_module_voltage', min: 11.5, max: 15.5, severity: 'warning' },
  { signal: 'fuel.level', min: 10, severity: 'warning' },
];

export interface SignalCheck {
  signal: string;
  name: string;
  unit: string;
  value: number | null;
  time: string | null;
  expected: { min: number | null; max: number | null };
  status: 'ok' | 'low' | 'high' | 'unknown';
  /** The reading is older than an hour: the vehicle is parked or offline. */
  stale: boolean;
}

export interface VehicleHealth {
  vehicleId: string;
  status: Severity;
  /** Why the status is not ok, one line each. */
  reasons: string[];
  signals: SignalCheck[];
  activeDtcs: CurrentCode[];
  recentAlerts: Alert[];
  /**
   * How far scoring has learned this vehicle's own normal. While `calibrating`, only the checks
   * that hold for every car (physics, SAE J1979 ranges, trouble codes) can raise alerts.
   */
  calibration: VehicleCalibration;
}

const STALE_MS = 3600_000;
const ALERT_WINDOW_MS = 7 * 24 * 3600_000;
const rank: Record<Severity, number> = { ok: 0, warning: 1, critical: 2 };

/** Judges readings against HEALTH_CHECKS; pure, so the thresholds are tested without a database. */
export function judge(
  checks: readonly RangeCheck[],
  readings: ReadonlyMap<string, { value: number; time: Date }>,
  now: Date,
): { signals: SignalCheck[]; worst: Severity; reasons: string[] } {
  let worst: Severity = 'ok';
  const reasons: string[] = [];
  const signals = checks.map((check): SignalCheck => {
    const def = signalByKey(check.signal);
    const reading = readings.get(check.signal);
    let status: SignalCheck['status'] = 'unknown';
    if (reading) {
      status =
        check.min !== undefined && reading.value < check.min
          ? 'low'
          : check.max !== undefined && reading.value > check.max
            ? 'high'
            : 'ok';
    }
    if (status === 'low' || status === 'high') {
      if (rank[check.severity] > rank[worst]) worst = check.severity;
      reasons.push(
        `${def?.name ?? check.signal} is ${status} (${reading!.value} ${def?.unit ?? ''})`.replace(' )', ')'),
      );
    }
    return {
      signal: check.signal,
      name: def?.name ?? check.signal,
      unit: def?.unit ?? '',
      value: reading?.value ?? null,
      time: reading ? reading.time.toISOString() : null,
      expected: { min: check.min ?? null, max: check.max ?? null },
      status,
      stale: reading ? now.getTime() - reading.time.getTime() > STALE_MS : false,
    };
  });
  return { signals, worst, reasons };
}

export class VehicleHealthService {
  constructor(
    private readonly diagnostics: DiagnosticsService,
    private readonly alerts: AlertsService,
    private readonly telemetry: TelemetryService,
    private readonly now: () => Date = () => new Date(),
    /** Codes and alerts per own vehicle (parts-cache.ts); absent, every request reads them. */
    private readonly parts?: HealthPartsCache,
    /** Parses a stored normal once per version (calibration.ts); absent, on every request. */
    private readonly calibrations?: CalibrationReader,
  ) {}

  async summary(scope: Scope, vehicleId: string): Promise<VehicleHealth> {
    const now = this.now();
    const ids = HEALTH_CHECKS.flatMap((c) => signalByKey(c.signal)?.id ?? []);
    // Latest values from ingest's cache when it has them; the vehicle check, codes and alerts as always.
    const read = await this.telemetry.prepareLatest(scope, vehicleId, now);
    // Only an API key of the vehicle's own tenant sees the parts the cache holds (parts-cache.ts).
    const tenant = scope.keyTenant;
    const known = tenant !== undefined ? this.telemetry.knownOwn(scope, vehicleId) : undefined;
    const held = known && this.parts ? this.parts.get(known.tenantId, vehicleId, now.getTime()) : undefined;
    const ticket = tenant !== undefined && !held ? this.parts?.ticket(vehicleId) : undefined;
    // A known own vehicle with every part held needs no transaction at all (as `/latest`).
    const found =
      known && held && read.cached
        ? { vehicle: known, latest: read.cached(ids), parts: held, validUntil: 0 }
        : await scope.run(async (q) => {
            // Health is a telemetry:read view; its codes and alerts are read under the same transaction's
            // row-level security (a share without dtc:read shows no codes).
            // The vehicle is checked once (and not at all when its tenant is known to own it); the codes
            // in one statement, or none when the parts cache holds them.
            const vehicle = await this.telemetry.requireVehicle(scope, q, vehicleId, 'telemetry:read');
            const latest = await read.rows(q, ids, vehicle);
            if (held) return { vehicle, latest, parts: held, validUntil: 0 };
            // Scoring announces each save of the stored normal (`normal`), so a held calibration is current.
            const calibration = await (this.calibrations?.read(q, vehicleId) ?? readCalibration(q, vehicleId));
            const dtcs = await this.diagnostics.currentOfCheckedVehicle(q, vehicleId);
            const filling = ticket !== undefined && !vehicle.shared && vehicle.tenantId === tenant;
            const { alerts, validUntil } = filling
              ? await this.alerts.recentUntil(q, vehicleId, ALERT_WINDOW_MS, 10)
              : { alerts: await this.alerts.recent(q, vehicleId, ALERT_WINDOW_MS, 10), validUntil: 0 };
            return { vehicle, latest, parts: { dtcs, alerts, calibration }, validUntil };
          });
    if (ticket !== undefined && !held && !found.vehicle.shared && found.vehicle.tenantId === tenant)
      this.parts?.fill(tenant, vehicleId, ticket, found.parts, found.validUntil);
    const { latest } = found;
    await read.settle();
    const { dtcs, alerts, calibration } = found.parts;
    const readings = new Map(
      latest.flatMap((r) => {
        const key = HEALTH_CHECKS.find((c) => signalByKey(c.signal)?.id === Number(r.signal_id))?.signal;
        return key ? [[key, { value: Number(r.value), time: new Date(toIso(r.time) ?? 0) }] as const] : [];
      }),
    );
    const { signals, worst, reasons } = judge(HEALTH_CHECKS, readings, now);
    let status = worst;
    const raise = (s: Severity, reason: string): void => {
      if (rank[s] > rank[status]) status = s;
      reasons.push(reason);
    };
    const mil = dtcs.filter((d) => d.milRelevant);
    if (mil.length > 0) raise('warning', `Trouble codes that light the MIL: ${mil.map((d) => d.code).join(', ')}`);
    else if (dtcs.length > 0) raise('warning', `Pending trouble codes: ${dtcs.map((d) => d.code).join(', ')}`);
    for (const a of alerts) {
      if (a.acknowledgedAt === null && a.severity !== 'info') raise(a.severity, `${a.severity} alert: ${a.title}`);
    }
    return { vehicleId, status, reasons, signals, activeDtcs: dtcs, recentAlerts: alerts, calibration };
  }
}
