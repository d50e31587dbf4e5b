import type { RepairWorkActor } from '../check-ins/service.js';
import { requireReadableOrder } from '../repair-work/order-access.js';
import { toIso } from '../shared/time.js';
import { WarrantiesRepository } from './repository.js';

/** The shop's terms when it set none (partners.warranty_months / warranty_km): whichever ends first. */
export const DEFAULT_WARRANTY = { months: 12, km: 20_000 } as const;

export interface WarrantyView {
  id: string;
  repairOrderId: string;
  estimateLineId: string;
  vehicleId: string | null;
  kind: 'labour' | 'part';
  description: string;
  startsAt: string;
  /** Null: no time limit. */
  endsAt: string | null;
  odometerStartKm: number | null;
  /** Null: no distance limit (or no odometer at check-in). */
  odometerEndKm: number | null;
  /** In force by time now (the distance cannot be judged here). */
  active: boolean;
}

/**
 * Warranty on delivered work (issue 15, item 4): one record per approved labour or part line, made
 * by the database when the order becomes delivered (migration 027's trigger, in the delivering
 * transaction, whoever delivers), for the shop's terms from the check-in odometer.
 */
export class WarrantiesService {
  constructor(private readonly now: () => Date = () => new Date()) {}

  async ofOrder(actor: RepairWorkActor, repairOrderId: string): Promise<{ warranties: WarrantyView[] }> {
    return actor.scope.run(async (q) => {
      await requireReadableOrder(q, actor.policy, repairOrderId);
      const now = this.now().getTime();
      const rows = await new WarrantiesRepository(q).byOrder(repairOrderId);
      return {
        warranties: rows.map((w) => {
          const endsAt = toIso(w.ends_at);
          return {
            id: w.id,
            repairOrderId: w.repair_order_id,
            estimateLineId: w.estimate_line_id,
            vehicleId: w.vehicle_id,
            kind: w.kind,
            description: w.description,
            startsAt: toIso(w.starts_at) ?? '',
            endsAt,
            odometerStartKm: w.odometer_start_km,
            odometerEndKm: w.odometer_end_km,
            active: endsAt === null || Date.parse(endsAt) > now,
          };
        }),
      };
    });
  }
}
