import type { Scope } from '../auth/scope.js';
import type { PageRequest } from '../http/pagination.js';
import { toIso } from '../shared/time.js';
import { requireVehicleData } from '../vehicles/access.js';
import { DataQualityRepository, type DataQualityRow } from './repository.js';

/** A finding about what a vehicle's device sent: a batch that never arrived, a restarted sequence, a contradicting repeat. */
export interface DataQualityEvent {
  id: string;
  detectedAt: string;
  deviceId: string;
  kind: DataQualityRow['kind'];
  detail: Record<string, unknown>;
}

export interface DataQualityQuery extends PageRequest {
  /** Deprecated id cursor; `cursor` replaces it. */
  before?: string | undefined;
  kind?: DataQualityRow['kind'] | undefined;
}

export interface DataQualityPage {
  vehicleId: string;
  events: DataQualityEvent[];
  next: string | null;
  /** Deprecated: the id to pass as `before`; null on the last page. */
  nextBefore: string | null;
}

export class DataQualityService {
  async list(scope: Scope, vehicleId: string, query: DataQualityQuery): Promise<DataQualityPage> {
    const page = await scope.run(async (q) => {
      await requireVehicleData(q, vehicleId, 'telemetry:read');
      return new DataQualityRepository(q).list(
        vehicleId,
        { before: query.before, kind: query.kind },
        { limit: query.limit, cursor: query.cursor },
      );
    });
    const events = page.items.map((r) => ({
      id: r.id,
      detectedAt: toIso(r.detected_at) ?? '',
      deviceId: r.device_id,
      kind: r.kind,
      detail: r.detail,
    }));
    return { vehicleId, events, next: page.next, nextBefore: page.next === null ? null : (events.at(-1)?.id ?? null) };
  }
}
