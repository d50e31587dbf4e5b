import type { LiveEventBus, LocationFix } from '@clutch/contracts';
import type { Scope } from '../auth/scope.js';
import { resolveRange, toIso } from '../shared/time.js';
import { vehicleNotFound } from '../shared/vehicle-guard.js';
import { requireVehicleData } from '../vehicles/access.js';
import { LocationsRepository, type LocationRow } from './repository.js';

export interface TrackPoint {
  time: string;
  lat: number;
  lon: number;
  altM: number | null;
  speedKmh: number | null;
  headingDeg: number | null;
  hdop: number | null;
  satellites: number | null;
}

export const LOCATION_LIMITS = { defaultWindowMs: 24 * 3600_000, defaultLimit: 10_000, maxLimit: 100_000 } as const;

const num = (v: number | null): number | null => (v === null ? null : Number(v));
const toPoint = (r: LocationRow): TrackPoint => ({
  time: toIso(r.time) ?? '',
  lat: Number(r.lat),
  lon: Number(r.lon),
  altM: num(r.alt_m),
  speedKmh: num(r.speed_kmh),
  headingDeg: num(r.heading_deg),
  hdop: num(r.hdop),
  satellites: num(r.satellites),
});

export class LocationService {
  constructor(
    private readonly bus: LiveEventBus,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Stores one fix; a fix already stored for that vehicle and time is acknowledged, not duplicated. */
  async record(
    scope: Scope,
    vehicleId: string,
    fix: LocationFix,
  ): Promise<{ vehicleId: string; time: string; stored: boolean }> {
    // Platform staff post fixes for any tenant's vehicle (administration, audited); others stay confined.
    const where = scope.administration({ action: 'location.record', target: vehicleId });
    const { tenantId, stored } = await where.run(async (q) => {
      const repo = new LocationsRepository(q);
      const tenantId = await repo.vehicleTenant(vehicleId);
      if (!tenantId) throw vehicleNotFound(vehicleId);
      return { tenantId, stored: await repo.insert(tenantId, vehicleId, fix) };
    });
    const at = new Date(fix.t).toISOString();
    if (stored) {
      this.bus.publish({
        type: 'location',
        tenantId,
        vehicleId,
        at,
        lat: fix.lat,
        lon: fix.lon,
        speedKmh: fix.speedKmh,
        headingDeg: fix.headingDeg,
      });
    }
    return { vehicleId, time: at, stored };
  }

  async track(
    scope: Scope,
    vehicleId: string,
    query: { from?: Date | undefined; to?: Date | undefined; limit?: number | undefined },
  ) {
    const { from, to } = resolveRange(query.from, query.to, LOCATION_LIMITS.defaultWindowMs, this.now());
    const limit = query.limit ?? LOCATION_LIMITS.defaultLimit;
    const rows = await scope.run(async (q) => {
      await requireVehicleData(q, vehicleId, 'location:read');
      return new LocationsRepository(q).track(vehicleId, from, to, limit + 1);
    });
    return {
      vehicleId,
      from: from.toISOString(),
      to: to.toISOString(),
      points: rows.slice(0, limit).map(toPoint),
      truncated: rows.length > limit,
    };
  }
}
