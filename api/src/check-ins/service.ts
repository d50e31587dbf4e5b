import type { RequestPolicy } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { actorOf, type Scope, type SystemUse } from '../auth/scope.js';
import { apiError } from '../errors.js';
import { transitionRepairOrder } from '../repair-orders/lifecycle.js';
import { readOrder, requireOnOrder, type OrderRow, requireReadableOrder } from '../repair-work/order-access.js';
import { isUniqueViolation } from '../repair-work/sql-errors.js';
import { toIso } from '../shared/time.js';
import type { TelemetryService } from '../telemetry/service.js';
import type { VehicleHealthService } from '../vehicle-health/service.js';
import { decodePhoto, PHOTOS_PER_CHECK_IN } from './images.js';
import { CheckInsRepository, type CheckInRow, type PhotoMeta } from './repository.js';

/** The caller as the route hands it over. */
export interface RepairWorkActor {
  principal: Principal;
  policy: RequestPolicy;
  scope: Scope;
  administer(use: Omit<SystemUse, 'actor' | 'ip'>): Scope;
}

export interface CheckInView {
  id: string;
  repairOrderId: string;
  partnerId: string;
  vehicleId: string | null;
  odometerKm: number;
  notes: string;
  snapshot: Record<string, unknown>;
  photos: { id: string; contentType: string; size: number; url: string }[];
  checkedInBy: string;
  createdAt: string;
}

/** What the car said about itself when it came in, as stored with the check-in. */
export interface CheckInSnapshot {
  takenAt: string;
  vehicleId: string | null;
  /** `GET /api/vehicles/:id/health` at that moment: signals, active trouble codes, recent alerts. */
  health: Record<string, unknown> | null;
  /** The odometer telematics last reported (km), if it reports one. */
  telematicsOdometerKm: number | null;
  /** Why health is null, when it is. */
  unavailable?: string;
}

export interface CheckInInput {
  odometerKm: number;
  notes?: string | undefined;
  photos?: { data: string }[] | undefined;
}

function view(row: CheckInRow, photos: PhotoMeta[], prefix: string): CheckInView {
  return {
    id: row.id,
    repairOrderId: row.repair_order_id,
    partnerId: row.partner_id,
    vehicleId: row.vehicle_id,
    odometerKm: Number(row.odometer_km),
    notes: row.notes,
    snapshot: typeof row.snapshot === 'string' ? (JSON.parse(row.snapshot) as Record<string, unknown>) : row.snapshot,
    photos: photos.map((p) => ({
      id: p.id,
      contentType: p.content_type,
      size: p.size,
      url: `${prefix}/repair-orders/${row.repair_order_id}/check-in/photos/${p.id}`,
    })),
    checkedInBy: row.checked_in_by,
    createdAt: toIso(row.created_at) ?? '',
  };
}

function decodeAll(photos: readonly { data: string }[]) {
  return photos.map((p, i) => {
    const decoded = decodePhoto(p.data);
    if ('refused' in decoded)
      throw apiError('PHOTO_INVALID', `Photo ${i} ${decoded.refused}`, { pointer: `/photos/${i}/data` });
    return decoded;
  });
}

/**
 * Check-in (issue 15, item 4): the shop records the odometer and photos, and the car's trouble codes
 * and health as telematics reports them at that moment, and the order moves confirmed -> checked_in.
 *
 * The car's data lives in its owner's tenant, which the shop's row-level security does not reach
 * (a vehicle share may open the vehicle row, not its samples). The snapshot is read in an audited
 * system scope instead, justified by the repair order naming the vehicle: only after the policy
 * allowed the caller to write this order, only for that vehicle, and recorded in the audit log with
 * the order as its reason (docs/repair-work.md, "Check-in").
 */
export class CheckInsService {
  constructor(
    private readonly health: VehicleHealthService,
    private readonly telemetry: TelemetryService,
    private readonly prefix: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async checkIn(actor: RepairWorkActor, repairOrderId: string, input: CheckInInput): Promise<CheckInView> {
    const order = await actor.scope.run(async (q) =>
      requireOnOrder(actor.policy, 'repair-orders:write', await readOrder(q, repairOrderId), repairOrderId, 'shop'),
    );
    if (order.status !== 'confirmed')
      throw apiError('INVALID_TRANSITION', `A repair order is checked in when it is confirmed; it is ${order.status}`, {
        repairOrderId,
        from: order.status,
        to: 'checked_in',
      });
    const photos = decodeAll(input.photos ?? []);
    const { snapshot, lastKnownKm } = await this.snapshot(actor, order);
    if (lastKnownKm !== null && input.odometerKm < lastKnownKm)
      throw apiError(
        'ODOMETER_INVALID',
        `The odometer reads ${input.odometerKm} km, below the ${lastKnownKm} km already known for this vehicle`,
        { lastKnownKm, pointer: '/odometerKm' },
      );
    const by = actorOf(actor.principal);
    const { row, stored } = await actor.scope
      .run(async (q) => {
        const locked = (await readOrder(q, repairOrderId, true)) ?? order;
        const repo = new CheckInsRepository(q);
        const row = await repo.insert(locked, {
          odometerKm: input.odometerKm,
          notes: input.notes ?? '',
          snapshot,
          by,
        });
        await repo.addPhotos(
          {
            id: row.id,
            tenantId: locked.tenant_id,
            customerTenantId: locked.customer_tenant_id,
            customerUserId: locked.customer_user_id,
          },
          photos,
        );
        await transitionRepairOrder(q, {
          repairOrderId,
          to: 'checked_in',
          actor: by,
          side: 'shop',
          data: { checkInId: row.id, odometerKm: input.odometerKm, photos: photos.length },
        });
        return { row, stored: await repo.photos(row.id) };
      })
      .catch((err: unknown) => {
        if (isUniqueViolation(err, 'check_ins_repair_order_id_key'))
          throw apiError('CHECK_IN_EXISTS', `Repair order ${repairOrderId} is already checked in`, { repairOrderId });
        throw err;
      });
    return view(row, stored, this.prefix);
  }

  /** More photos after the check-in (a request carries only what fits the body limit). */
  async addPhotos(actor: RepairWorkActor, repairOrderId: string, input: { photos: { data: string }[] }) {
    const photos = decodeAll(input.photos);
    return actor.scope.run(async (q) => {
      const order = await requireOnOrder(
        actor.policy,
        'repair-orders:write',
        await readOrder(q, repairOrderId, true),
        repairOrderId,
        'shop',
      );
      const repo = new CheckInsRepository(q);
      const row = await repo.byOrder(repairOrderId);
      if (!row) throw apiError('CHECK_IN_NOT_FOUND', `Repair order ${repairOrderId} is not checked in`);
      const existing = await repo.photos(row.id);
      if (existing.length + photos.length > PHOTOS_PER_CHECK_IN)
        throw apiError('PHOTO_LIMIT_REACHED', `A check-in has at most ${PHOTOS_PER_CHECK_IN} photos`, {
          limit: PHOTOS_PER_CHECK_IN,
        });
      await repo.addPhotos(
        {
          id: row.id,
          tenantId: order.tenant_id,
          customerTenantId: order.customer_tenant_id,
          customerUserId: order.customer_user_id,
        },
        photos,
      );
      return view(row, await repo.photos(row.id), this.prefix);
    });
  }

  async get(actor: RepairWorkActor, repairOrderId: string): Promise<CheckInView> {
    return actor.scope.run(async (q) => {
      await requireReadableOrder(q, actor.policy, repairOrderId);
      const repo = new CheckInsRepository(q);
      const row = await repo.byOrder(repairOrderId);
      if (!row) throw apiError('CHECK_IN_NOT_FOUND', `Repair order ${repairOrderId} is not checked in`);
      return view(row, await repo.photos(row.id), this.prefix);
    });
  }

  async photo(
    actor: RepairWorkActor,
    repairOrderId: string,
    photoId: string,
  ): Promise<{ contentType: string; bytes: Buffer }> {
    return actor.scope.run(async (q) => {
      await requireReadableOrder(q, actor.policy, repairOrderId);
      const repo = new CheckInsRepository(q);
      const row = await repo.byOrder(repairOrderId);
      const photo = row ? await repo.photo(row.id, photoId) : undefined;
      if (!photo) throw apiError('PHOTO_NOT_FOUND', `No photo ${photoId} of this check-in`);
      return { contentType: photo.content_type, bytes: Buffer.from(photo.bytes) };
    });
  }

  /**
   * The car's health and trouble codes now, and the highest odometer known for it (earlier
   * check-ins at any shop, and telematics), read in one audited system scope. A failure to read
   * telematics does not stop the check-in: the snapshot says why it is empty.
   */
  private async snapshot(
    actor: RepairWorkActor,
    order: OrderRow,
  ): Promise<{ snapshot: CheckInSnapshot; lastKnownKm: number | null }> {
    const takenAt = this.now().toISOString();
    const empty = (unavailable: string): CheckInSnapshot => ({
      takenAt,
      vehicleId: order.vehicle_id,
      health: null,
      telematicsOdometerKm: null,
      unavailable,
    });
    if (order.vehicle_id === null) return { snapshot: empty('the repair order names no vehicle'), lastKnownKm: null };
    const vehicleId = order.vehicle_id;
    if (actor.principal.kind === 'partner')
      // API keys do not administer (docs/security.md): a key's check-in records no telematics snapshot.
      return { snapshot: empty('a check-in made with an API key takes no telematics snapshot'), lastKnownKm: null };
    const system = actor.administer({
      action: 'repair-order.check-in-snapshot',
      tenantId: order.customer_tenant_id,
      target: vehicleId,
      detail: { repairOrderId: order.id, partnerId: order.partner_id, reason: 'the repair order names this vehicle' },
    });
    const lastCheckIn = await system.run((q) => new CheckInsRepository(q).lastCheckInOdometer(vehicleId));
    let health: Record<string, unknown> | null = null;
    let telematicsOdometerKm: number | null = null;
    let unavailable: string | undefined;
    try {
      health = { ...(await this.health.summary(system, vehicleId)) };
      const latest = await this.telemetry.latest(system, vehicleId);
      const odometer = latest.readings.find((r) => r.signal === 'vehicle.odometer');
      telematicsOdometerKm = odometer ? Math.floor(odometer.value) : null;
    } catch (err) {
      unavailable = `telematics could not be read: ${(err as Error).message}`;
    }
    const known = [lastCheckIn, telematicsOdometerKm].filter((v): v is number => v !== null);
    return {
      snapshot: { takenAt, vehicleId, health, telematicsOdometerKm, ...(unavailable ? { unavailable } : {}) },
      lastKnownKm: known.length > 0 ? Math.max(...known) : null,
    };
  }
}
