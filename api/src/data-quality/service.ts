import type { Scope } from '../auth/principal.js';
import { assertVehicle, toIso } from '../vehicles/service.js';
import { DataQualityRepository, type DataQualityRow } from './repository.js';

/** A finding about what a vehicle's device sent: a batch that never arrived, a restarted sequence, a contradicting repeat. */
export interface DataQualityEvent {
  id: string;
  detectedAt: string;
  deviceId: string;
  kind: DataQualityRow['kind'];
  detail: Record<string, unknown>;
}

export interface DataQualityQuery {
  before?: string | undefined;
  kind?: DataQualityRow['kind'] | undefined;
  limit: number;
}

export class DataQualityService {
  async list(scope: Scope, vehicleId: string, query: DataQualityQuery): Promise<{ vehicleId: string; events: DataQualityEvent[]; nextBefore: string | null }> {
    // One more than asked: whether a next page exists without a count.
    const rows = await scope.run(async (q) => {
      await assertVehicle(q, vehicleId);
      return new DataQualityRepository(q).list(vehicleId, { before: query.before, kind: query.kind, limit: query.limit + 1 });
    });
    const page = rows.slice(0, query.limit);
    return {
      vehicleId,
      events: page.map((r) => ({ id: r.id, detectedAt: toIso(r.detected_at) ?? '', deviceId: r.device_id, kind: r.kind, detail: r.detail })),
      nextBefore: rows.length > query.limit ? page[page.length - 1]!.id : null,
    };
  }
}
