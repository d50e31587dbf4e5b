import type { Queryable } from '@clutch/db';
import { apiError } from '../errors.js';
import { BusyIndex, freeCandidates, loadBusy, loadCapacity, poolsFor, type ServiceNeeds } from './availability.js';

/**
 * Reserves what one booking needs (a technician with the skill, a workplace, each piece of
 * equipment) for its buffered time, together or not at all, in the caller's transaction.
 *
 * The database decides: `booking_reservations_no_overlap` (an exclusion constraint over live
 * reservations) refuses a second reservation of a resource for an overlapping time, whoever inserts
 * it and however many try at once. Each insert runs under a savepoint, so a refusal (SQLSTATE 23P01,
 * possibly after waiting for a concurrent attempt on the same resource to commit) only moves on to
 * the pool's next qualified resource; a pool with none left fails the whole booking (the caller's
 * transaction rolls back, reservations already made included). Resources are taken in one global
 * order (pool, then id), so concurrent attempts wait for each other but never deadlock.
 */

export interface ReserveInput {
  tenantId: string;
  bookingId: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
  startsAt: number;
  endsAt: number;
  service: ServiceNeeds;
  /** Set for a hold: its reservations stop counting then (migration 026). */
  holdExpiresAt: Date | null;
}

export interface Reserved {
  resourceId: string;
  kind: string;
  pool: string;
}

const EXCLUSION_VIOLATION = '23P01';

function isExclusionViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === EXCLUSION_VIOLATION;
}

export function slotUnavailable(startsAt: number, why: string): Error {
  return apiError('SLOT_UNAVAILABLE', why, { startsAt: new Date(startsAt).toISOString() });
}

export async function reserveResources(q: Queryable, input: ReserveInput): Promise<Reserved[]> {
  const resources = await loadCapacity(q, input.partnerId);
  const pools = poolsFor(input.service, resources);
  const candidateIds = [...pools.technicians, ...pools.workplaces, ...pools.equipment.flatMap((e) => e.resources)].map(
    (r) => r.id,
  );
  if (candidateIds.length === 0) throw slotUnavailable(input.startsAt, 'The shop has no resources for this service');
  // Expired holds must not block: end them on the resources this booking may take (they would
  // otherwise stay live for the exclusion constraint until the sweeper runs).
  await q.query('SELECT booking_release_expired_holds($1::uuid[])', [candidateIds]);

  const start = input.startsAt - input.service.bufferBeforeMinutes * 60_000;
  const end = input.endsAt + input.service.bufferAfterMinutes * 60_000;
  const busy = new BusyIndex(await loadBusy(q, input.partnerId, start, end));
  const candidates = freeCandidates(pools, busy, start, end);
  if (!candidates) throw slotUnavailable(input.startsAt, 'Every qualified resource is taken at this time');

  const reserved: Reserved[] = [];
  for (const { pool, resources: list } of candidates) {
    let taken: Reserved | undefined;
    for (const r of list) {
      // Equipment with several capabilities may already serve another pool of this booking.
      if (reserved.some((x) => x.resourceId === r.id)) continue;
      await q.exec('SAVEPOINT booking_reserve');
      try {
        await q.query(
          `INSERT INTO booking_reservations
             (tenant_id, booking_id, partner_id, resource_id, resource_kind, customer_tenant_id, customer_user_id, during, hold_expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, tstzrange($8, $9, '[)'), $10)`,
          [
            input.tenantId,
            input.bookingId,
            input.partnerId,
            r.id,
            r.kind,
            input.customerTenantId,
            input.customerUserId,
            new Date(start),
            new Date(end),
            input.holdExpiresAt,
          ],
        );
        await q.exec('RELEASE SAVEPOINT booking_reserve');
        taken = { resourceId: r.id, kind: r.kind, pool };
        break;
      } catch (err) {
        await q.exec('ROLLBACK TO SAVEPOINT booking_reserve; RELEASE SAVEPOINT booking_reserve');
        if (!isExclusionViolation(err)) throw err;
      }
    }
    if (!taken) throw slotUnavailable(input.startsAt, `No ${pool.replace(':', ' ')} is free at this time`);
    reserved.push(taken);
  }
  return reserved;
}
