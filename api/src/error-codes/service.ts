import type { RequestPolicy } from '../auth/policy.js';
import type { Scope } from '../auth/scope.js';
import type { CurrentCode, DiagnosticsService } from '../diagnostics/service.js';
import { vehicleNotFound } from '../shared/vehicle-guard.js';
import { vehicleResource } from '../vehicles/access.js';
import { interpretCode, type Interpretation } from './knowledge.js';
import { ErrorCodesRepository, type Position, type PriceRange } from './repository.js';

/** Without a radius: what "nearby" means for a repair (a short drive). */
export const DEFAULT_RADIUS_KM = 25;
export const MAX_RADIUS_KM = 200;
export const MAX_CODES = 20;

export interface CostRange {
  currency: string;
  minMinor: number;
  maxMinor: number;
  /** Shops within the radius whose price list gives a price for the service. */
  shops: number;
}

export interface InterpretedCode extends Omit<Interpretation, 'services'> {
  /** Plain-words description (generic SAE J2012, else the manufacturer's from the data set). */
  description: string | null;
  /** The services to book, the first the main one, each with its nearby price range (null: no priced offer nearby, or no position). */
  services: { code: string; cost: CostRange | null }[];
  /** The range of the main service that has one: what the repair is likely to cost around here. */
  cost: (CostRange & { service: string }) | null;
  /** With a vehicle: whether the car reports the code now (kind and first report), else null. */
  onVehicle: { kind: CurrentCode['kind']; firstSeen: string } | null;
}

export interface ErrorCodesAnswer {
  codes: InterpretedCode[];
  /** Where prices were looked up: the given position, else the vehicle's last fix; null: none, so no costs. */
  position: (Position & { from: 'request' | 'vehicle' }) | null;
}

/** Of several currencies for one service (rare: shops near a border), the one most shops use. */
function rangesByService(ranges: readonly PriceRange[]): Map<string, CostRange> {
  const best = new Map<string, CostRange>();
  for (const r of ranges) {
    const held = best.get(r.service);
    if (!held || r.shops > held.shops)
      best.set(r.service, { currency: r.currency, minMinor: r.minMinor, maxMinor: r.maxMinor, shops: r.shops });
  }
  return best;
}

/**
 * `POST /api/obd2/error-codes`: what trouble codes mean (knowledge.ts), what they usually cost to
 * fix near a position (the price lists of nearby shops), and, for a vehicle, whether it reports them.
 * A pure read: safe to repeat, one transaction.
 */
export class ErrorCodesService {
  constructor(private readonly diagnostics: DiagnosticsService) {}

  async interpret(
    actor: { scope: Scope; policy: RequestPolicy },
    input: { codes: readonly string[]; vehicleId?: string | undefined; position?: Partial<Position> | undefined },
  ): Promise<ErrorCodesAnswer> {
    const codes = [...new Set(input.codes.map((c) => c.toUpperCase()))];
    const knowledge = codes.map(interpretCode);
    const services = [...new Set(knowledge.flatMap((k) => k.services))];
    const vehicleId = input.vehicleId;
    const [data, descriptions] = await Promise.all([
      actor.scope.run(async (q) => {
        const repo = new ErrorCodesRepository(q);
        let current: CurrentCode[] = [];
        let position: ErrorCodesAnswer['position'] = null;
        let mayLocate = false;
        if (vehicleId !== undefined) {
          // The vehicle must be one the caller reads trouble codes of; else it answers like a missing one.
          const resource = await vehicleResource(q, vehicleId);
          if (!resource || !(await actor.policy.decide('dtc:read', resource)).allow) throw vehicleNotFound(vehicleId);
          current = await this.diagnostics.current(q, vehicleId);
          // The answer names the position it priced around: the car's only for who may see where it is.
          mayLocate = (await actor.policy.decide('location:read', resource)).allow;
        }
        const radiusKm = input.position?.radiusKm ?? DEFAULT_RADIUS_KM;
        if (input.position?.lat !== undefined && input.position.lon !== undefined)
          position = { lat: input.position.lat, lon: input.position.lon, radiusKm, from: 'request' };
        else if (vehicleId !== undefined && mayLocate) {
          const fix = await repo.lastPosition(vehicleId);
          if (fix) position = { ...fix, radiusKm, from: 'vehicle' };
        }
        const ranges = position ? await repo.priceRanges(services, position) : [];
        return { current, position, ranges: rangesByService(ranges) };
      }),
      this.diagnostics.describer(),
    ]);
    const onCar = new Map(data.current.map((c) => [c.code, c]));
    return {
      position: data.position,
      codes: knowledge.map((k): InterpretedCode => {
        const priced = k.services.map((code) => ({ code, cost: data.ranges.get(code) ?? null }));
        const main = priced.find((s) => s.cost !== null);
        const car = onCar.get(k.code);
        return {
          ...k,
          description: descriptions.describe(k.code),
          services: priced,
          cost: main?.cost ? { service: main.code, ...main.cost } : null,
          onVehicle: car ? { kind: car.kind, firstSeen: car.firstSeen } : null,
        };
      }),
    };
  }
}
