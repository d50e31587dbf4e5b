import type { Queryable } from '@clutch/db';
import type { Principal } from '../auth/principal.js';
import type { RequestPolicy } from '../auth/policy.js';
import { actorOf, type Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import { assessRisk, riskBlocked } from '../fraud/assess.js';
import type { RiskRequestContext } from '../fraud/request-context.js';
import type { Page, PageRequest } from '../http/pagination.js';
import { requireGoodStanding } from '../installments/standing.js';
import { transitionRepairOrder, type TransitionSide } from '../repair-orders/lifecycle.js';
import { RepairOrdersRepository } from '../repair-orders/repository.js';
import { allowedOn, sideOf, type PartyRecord } from './access.js';
import {
  availableSlots,
  isGridStart,
  loadCalendar,
  loadRules,
  loadService,
  loadShop,
  type BookingRules,
  type ServiceRow,
  type ShopRow,
} from './availability.js';
import { BookingsRepository, type BookingRow, type BookingSource, type ReservedResource } from './repository.js';
import { reserveResources, slotUnavailable } from './reserve.js';
import { localParts } from './zoned-time.js';

/** What a use case needs of the request (M4's "book from an alert" route passes its own). */
export interface BookingCaller {
  scope: Scope;
  principal: Principal;
  policy: RequestPolicy;
  /** What the request tells the risk check (address, its country, device); absent for system callers. */
  request?: RiskRequestContext | undefined;
}

export interface BookingView {
  id: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
  vehicleId: string | null;
  serviceId: string | null;
  serviceCode: string;
  serviceName: string;
  status: string;
  startsAt: string;
  endsAt: string;
  holdExpiresAt: string | null;
  source: BookingSource;
  notes: string | null;
  priceMinor: number | null;
  currency: string;
  cancellationFeeMinor: number;
  noShowFeeMinor: number;
  cancelledAt: string | null;
  cancelledBy: string | null;
  cancelReason: string | null;
  rescheduleCount: number;
  createdAt: string;
  updatedAt: string;
  repairOrderId: string | null;
  repairOrderStatus: string | null;
  resources: ReservedResource[];
}

/** The booking as `within` sees it, inside the booking's transaction (M4 creates its share there). */
export interface BookingInTransaction {
  id: string;
  tenantId: string;
  partnerId: string;
  vehicleId: string;
  customerTenantId: string;
  customerUserId: string | null;
  startsAt: Date;
  endsAt: Date;
  repairOrderId: string | null;
}

export interface BookingRequestInput {
  partnerId?: string | undefined;
  serviceId?: string | undefined;
  vehicleId?: string | undefined;
  startsAt?: Date | undefined;
  /** Turns this hold (POST /api/bookings/holds) into the request; the other fields, when given, must match it. */
  holdId?: string | undefined;
  source?: BookingSource | undefined;
  notes?: string | undefined;
  /** Runs inside the booking's transaction after its rows are written; a throw undoes the booking. */
  within?: ((tx: Queryable, booking: BookingInTransaction) => Promise<void>) | undefined;
}

export interface SlotsView {
  partnerId: string;
  serviceId: string;
  timeZone: string;
  stepMinutes: number;
  slots: { startsAt: string; endsAt: string; localStart: string; capacity: number }[];
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

function view(b: BookingRow, resources: ReservedResource[]): BookingView {
  return {
    id: b.id,
    partnerId: b.partnerId,
    customerTenantId: b.customerTenantId,
    customerUserId: b.customerUserId,
    vehicleId: b.vehicleId,
    serviceId: b.serviceId,
    serviceCode: b.serviceCode,
    serviceName: b.serviceName,
    status: b.status,
    startsAt: iso(b.startsAt)!,
    endsAt: iso(b.endsAt)!,
    holdExpiresAt: iso(b.holdExpiresAt),
    source: b.source,
    notes: b.notes,
    priceMinor: b.priceMinor,
    currency: b.currency,
    cancellationFeeMinor: b.cancellationFeeMinor,
    noShowFeeMinor: b.noShowFeeMinor,
    cancelledAt: iso(b.cancelledAt),
    cancelledBy: b.cancelledBy,
    cancelReason: b.cancelReason,
    rescheduleCount: b.rescheduleCount,
    createdAt: iso(b.createdAt)!,
    updatedAt: iso(b.updatedAt)!,
    repairOrderId: b.repairOrderId,
    repairOrderStatus: b.repairOrderStatus,
    resources,
  };
}

const record = (b: BookingRow): PartyRecord => ({
  type: 'booking',
  id: b.id,
  bookingId: b.id,
  tenantId: b.tenantId,
  partnerId: b.partnerId,
  customerTenantId: b.customerTenantId,
  customerUserId: b.customerUserId,
});

const notFound = (id: string): Error => apiError('BOOKING_NOT_FOUND', undefined, { bookingId: id });

/** Deadlocks and serialization failures are worth one more try of the whole use case. */
function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

async function withRetry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryable(err)) throw err;
    }
  }
}

export interface BookingsOptions {
  /** The clock (tests move it); the database's now() still decides hold expiry. */
  now?: () => number;
}

/**
 * Bookings (docs/bookings.md): holds, requests, confirmation, rescheduling, cancellation with fees.
 * Every use case is one transaction in the caller's scope (row-level security: the shop's tenant or
 * the customer's side, migration 026); every change appends `booking.updated`, and the repair order
 * moves only through transitionRepairOrder.
 */
export class BookingsService {
  private readonly now: () => number;

  constructor(options: BookingsOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Bookable slots of a shop's service (any signed-in caller; a shop that is not listed answers 404 to others). */
  async availability(
    caller: BookingCaller,
    partnerId: string,
    query: { serviceId: string; from?: Date | undefined; days: number },
  ): Promise<SlotsView> {
    const now = this.now();
    return caller.scope.run(async (q) => {
      const shop = await this.visibleShop(q, partnerId);
      const service = await loadService(q, partnerId, query.serviceId);
      if (!service || !service.active)
        throw apiError('PARTNER_SERVICE_NOT_FOUND', undefined, { partnerId, serviceId: query.serviceId });
      const rules = await loadRules(q, partnerId);
      const slots = await availableSlots(q, {
        partnerId,
        service,
        shop,
        rules,
        from: Math.max(query.from?.getTime() ?? now, now),
        days: query.days,
        now,
      });
      return {
        partnerId,
        serviceId: service.id,
        timeZone: shop.timeZone,
        stepMinutes: rules.slotStepMinutes,
        slots: slots.map((s) => {
          const local = localParts(s.startsAt, shop.timeZone);
          const hh = String(Math.floor(local.minute / 60)).padStart(2, '0');
          const mm = String(local.minute % 60).padStart(2, '0');
          return {
            startsAt: new Date(s.startsAt).toISOString(),
            endsAt: new Date(s.endsAt).toISOString(),
            localStart: `${local.day}T${hh}:${mm}`,
            capacity: s.capacity,
          };
        }),
      };
    });
  }

  /** A short hold on a slot while the customer checks out (expires by itself after the shop's hold_minutes). */
  hold(
    caller: BookingCaller,
    input: { partnerId: string; serviceId: string; vehicleId: string; startsAt: Date },
  ): Promise<BookingView> {
    return this.create(caller, { ...input, status: 'held' });
  }

  /**
   * A booking request: straight onto a slot, or by turning the caller's hold into it (`holdId`).
   * Creates the repair order in `requested`. M4's "book from an alert" calls this with `source`
   * and `within`.
   */
  async request(caller: BookingCaller, input: BookingRequestInput): Promise<BookingView> {
    if (input.holdId !== undefined) return this.confirmHold(caller, input.holdId, input);
    const { partnerId, serviceId, vehicleId, startsAt } = input;
    if (!partnerId || !serviceId || !vehicleId || !startsAt)
      throw apiError('VALIDATION_FAILED', 'A booking needs partnerId, serviceId, vehicleId and startsAt, or a holdId');
    return this.create(caller, {
      partnerId,
      serviceId,
      vehicleId,
      startsAt,
      status: 'requested',
      source: input.source,
      notes: input.notes,
      within: input.within,
    });
  }

  async get(caller: BookingCaller, id: string): Promise<BookingView> {
    return caller.scope.run(async (q) => {
      const repo = new BookingsRepository(q);
      const b = await repo.get(id);
      if (!b || !(await allowedOn(caller.policy, caller.principal, 'bookings:read', record(b)))) throw notFound(id);
      return view(b, (await repo.reservations([b.id])).get(b.id) ?? []);
    });
  }

  /** The caller's bookings (row-level security: a shop's, an owner's own, a fleet's), each allowed by the policy. */
  async list(
    caller: BookingCaller,
    filter: {
      partnerId?: string | undefined;
      status?: string[] | undefined;
      from?: Date | undefined;
      to?: Date | undefined;
      order?: 'asc' | 'desc' | undefined;
    },
    page: PageRequest,
  ): Promise<Page<BookingView>> {
    return caller.scope.run(async (q) => {
      const repo = new BookingsRepository(q);
      const found = await repo.list(filter, page, filter.order === 'asc');
      const allowed: BookingRow[] = [];
      for (const b of found.items)
        if (await allowedOn(caller.policy, caller.principal, 'bookings:read', record(b))) allowed.push(b);
      const reservations = await repo.reservations(allowed.map((b) => b.id));
      return { items: allowed.map((b) => view(b, reservations.get(b.id) ?? [])), next: found.next };
    });
  }

  /** The shop accepts a request: booking `confirmed`, repair order requested -> confirmed. */
  async confirm(caller: BookingCaller, id: string): Promise<BookingView> {
    return this.change(caller, id, async (q, b, side) => {
      if (side !== 'shop') throw apiError('FORBIDDEN', 'Only the shop confirms a booking');
      if (b.status === 'confirmed') return; // a repeat (the idempotent answer)
      if (b.status !== 'requested')
        throw apiError('BOOKING_STATE_CONFLICT', `A ${b.status} booking cannot be confirmed`, { status: b.status });
      await q.query(`UPDATE bookings SET status = 'confirmed', updated_at = now() WHERE id = $1`, [b.id]);
      if (b.repairOrderId)
        await transitionRepairOrder(q, {
          repairOrderId: b.repairOrderId,
          to: 'confirmed',
          actor: actorOf(caller.principal),
          side: 'shop',
        });
    });
  }

  /**
   * Cancels a hold, a request or a confirmed booking (not once the car is checked in). The customer
   * cancelling later than the shop's free-cancellation window before the start owes the shop's fee,
   * recorded on the booking; the shop cancelling owes nothing.
   */
  async cancel(caller: BookingCaller, id: string, reason?: string): Promise<BookingView> {
    return this.change(caller, id, async (q, b, side, rules) => {
      if (b.status === 'cancelled') return;
      if (!['held', 'requested', 'confirmed'].includes(b.status))
        throw apiError('BOOKING_STATE_CONFLICT', `A ${b.status} booking cannot be cancelled`, { status: b.status });
      if (b.repairOrderStatus !== null && !['requested', 'confirmed'].includes(b.repairOrderStatus))
        throw apiError('BOOKING_STATE_CONFLICT', `The repair order is already ${b.repairOrderStatus}`, {
          repairOrderStatus: b.repairOrderStatus,
        });
      const late = this.now() >= new Date(b.startsAt).getTime() - rules.freeCancellationHours * 3600_000;
      const fee = side === 'customer' && b.status !== 'held' && late ? rules.cancellationFeeMinor : 0;
      await q.query(
        `UPDATE bookings SET status = 'cancelled', cancelled_at = now(), cancelled_by = $2, cancel_reason = $3,
                cancellation_fee_minor = $4, updated_at = now()
          WHERE id = $1`,
        [b.id, side, reason ?? null, fee],
      );
      await new BookingsRepository(q).releaseReservations(b.id);
      if (b.repairOrderId)
        await transitionRepairOrder(q, {
          repairOrderId: b.repairOrderId,
          to: 'cancelled',
          actor: actorOf(caller.principal),
          side,
          note: reason,
          data: { cancellationFeeMinor: fee, currency: b.currency },
        });
    });
  }

  /**
   * Moves a request or a confirmed booking to another slot, with the same service: its reservations
   * are released and new ones taken in one transaction (all or nothing: a slot that is not free leaves
   * the booking where it was). The customer must do it at least the shop's notice period before the
   * current start; the shop may at any time.
   */
  async reschedule(caller: BookingCaller, id: string, startsAt: Date): Promise<BookingView> {
    return this.change(caller, id, async (q, b, side, rules, shop) => {
      if (!['requested', 'confirmed'].includes(b.status))
        throw apiError('BOOKING_STATE_CONFLICT', `A ${b.status} booking cannot be rescheduled`, { status: b.status });
      if (b.repairOrderStatus !== null && !['requested', 'confirmed'].includes(b.repairOrderStatus))
        throw apiError('BOOKING_STATE_CONFLICT', `The repair order is already ${b.repairOrderStatus}`, {
          repairOrderStatus: b.repairOrderStatus,
        });
      const now = this.now();
      if (side === 'customer' && now > new Date(b.startsAt).getTime() - rules.rescheduleNoticeHours * 3600_000)
        throw apiError(
          'RESCHEDULE_TOO_LATE',
          `A booking can be rescheduled up to ${rules.rescheduleNoticeHours} hours before it starts`,
          { rescheduleNoticeHours: rules.rescheduleNoticeHours, startsAt: iso(b.startsAt) },
        );
      if (!b.serviceId) throw apiError('BOOKING_STATE_CONFLICT', 'The booked service no longer exists');
      const service = await loadService(q, b.partnerId, b.serviceId);
      if (!service) throw apiError('BOOKING_STATE_CONFLICT', 'The booked service no longer exists');
      await this.requireGridStart(q, shop, service, rules, startsAt.getTime(), now);
      const endsAt = startsAt.getTime() + service.durationMinutes * 60_000;
      await new BookingsRepository(q).releaseReservations(b.id);
      await reserveResources(q, {
        tenantId: b.tenantId,
        bookingId: b.id,
        partnerId: b.partnerId,
        customerTenantId: b.customerTenantId,
        customerUserId: b.customerUserId,
        startsAt: startsAt.getTime(),
        endsAt,
        service,
        holdExpiresAt: null,
      });
      await q.query(
        `UPDATE bookings SET starts_at = $2, ends_at = $3, reschedule_count = reschedule_count + 1, updated_at = now()
          WHERE id = $1`,
        [b.id, startsAt, new Date(endsAt)],
      );
    });
  }

  // ---------------------------------------------------------------------------------------------

  /** The shop if the caller may see it: listed, or of the caller's own organisation. */
  private async visibleShop(q: Queryable, partnerId: string): Promise<ShopRow> {
    const shop = await loadShop(q, partnerId);
    if (!shop) throw apiError('PARTNER_NOT_FOUND', undefined, { partnerId });
    return shop;
  }

  private async requireGridStart(
    q: Queryable,
    shop: ShopRow,
    service: ServiceRow,
    rules: BookingRules,
    startsAt: number,
    now: number,
  ): Promise<void> {
    const day = localParts(startsAt, shop.timeZone).day;
    const calendar = await loadCalendar(q, shop, day, 1);
    const onGrid = isGridStart(
      { calendar, service, stepMinutes: rules.slotStepMinutes, now, leadMinutes: rules.minLeadMinutes },
      startsAt,
    );
    if (!onGrid)
      throw slotUnavailable(
        startsAt,
        `Not a slot of this shop: it must start on its ${rules.slotStepMinutes}-minute grid within opening hours, at least ${rules.minLeadMinutes} minutes from now`,
      );
  }

  /** The customer a new booking is for: the caller (owners and fleets book for themselves). */
  private customerOf(principal: Principal): { tenantId: string; userId: string | null } {
    if (principal.kind === 'admin')
      throw apiError('FORBIDDEN', 'Bookings are made by a customer: sign in as the car owner or the fleet');
    return { tenantId: principal.tenantId, userId: principal.kind === 'user' ? principal.userId : null };
  }

  private async create(
    caller: BookingCaller,
    input: {
      partnerId: string;
      serviceId: string;
      vehicleId: string;
      startsAt: Date;
      status: 'held' | 'requested';
      source?: BookingSource | undefined;
      notes?: string | undefined;
      within?: BookingRequestInput['within'];
    },
  ): Promise<BookingView> {
    const customer = this.customerOf(caller.principal);
    // The policy on the booking to be: an owner may book for themselves, a fleet for its tenant.
    await caller.policy.require('bookings:write', {
      type: 'booking',
      id: 'new',
      tenantId: customer.tenantId,
      ownerUserId: customer.userId,
    });
    const now = this.now();
    const actor = actorOf(caller.principal);
    const result = await withRetry(() =>
      caller.scope.run(async (q) => {
        // A customer whose installment plan defaulted books nothing new (docs/installments.md).
        await requireGoodStanding(q, customer.tenantId, customer.userId);
        const shop = await this.visibleShop(q, input.partnerId);
        const service = await loadService(q, input.partnerId, input.serviceId);
        if (!service || !service.active)
          throw apiError('PARTNER_SERVICE_NOT_FOUND', undefined, {
            partnerId: input.partnerId,
            serviceId: input.serviceId,
          });
        const vehicle = await q.query('SELECT 1 FROM vehicles WHERE id = $1', [input.vehicleId]);
        if (vehicle.rows.length === 0) throw apiError('VEHICLE_NOT_FOUND', undefined, { vehicleId: input.vehicleId });
        const rules = await loadRules(q, input.partnerId);
        const startsAt = input.startsAt.getTime();
        await this.requireGridStart(q, shop, service, rules, startsAt, now);
        // The inline risk check (docs/fraud.md): a `block` commits its assessment and stores no booking.
        const risk = await assessRisk(q, {
          kind: 'booking',
          tenantId: customer.tenantId,
          userId: customer.userId,
          amountMinor: service.priceKind === 'fixed' ? (service.priceMinor ?? 0) : 0,
          currency: service.currency,
          ...caller.request,
          at: new Date(now),
        });
        if (risk.decision === 'block') return { blocked: risk };
        const endsAt = startsAt + service.durationMinutes * 60_000;
        const repo = new BookingsRepository(q);
        const created = await repo.insert({
          tenantId: shop.tenantId,
          partnerId: shop.id,
          customerTenantId: customer.tenantId,
          customerUserId: customer.userId,
          vehicleId: input.vehicleId,
          serviceId: service.id,
          serviceCode: service.code,
          serviceName: service.name,
          status: input.status,
          startsAt: input.startsAt,
          endsAt: new Date(endsAt),
          holdMinutes: input.status === 'held' ? rules.holdMinutes : null,
          source: input.source ?? { kind: 'manual' },
          notes: input.notes ?? null,
          priceMinor: service.priceKind === 'fixed' ? service.priceMinor : null,
          currency: service.currency,
          createdBy: actor,
        });
        await reserveResources(q, {
          tenantId: shop.tenantId,
          bookingId: created.id,
          partnerId: shop.id,
          customerTenantId: customer.tenantId,
          customerUserId: customer.userId,
          startsAt,
          endsAt,
          service,
          holdExpiresAt: created.holdExpiresAt,
        });
        let repairOrderId: string | null = null;
        if (input.status === 'requested')
          repairOrderId = (
            await new RepairOrdersRepository(q).createForBooking({
              bookingId: created.id,
              tenantId: shop.tenantId,
              partnerId: shop.id,
              customerTenantId: customer.tenantId,
              customerUserId: customer.userId,
              vehicleId: input.vehicleId,
              actor,
              side: 'customer',
            })
          ).id;
        await repo.announce(created.id);
        if (input.within)
          await input.within(q, {
            id: created.id,
            tenantId: shop.tenantId,
            partnerId: shop.id,
            vehicleId: input.vehicleId,
            customerTenantId: customer.tenantId,
            customerUserId: customer.userId,
            startsAt: input.startsAt,
            endsAt: new Date(endsAt),
            repairOrderId,
          });
        const b = (await repo.get(created.id))!;
        return view(b, (await repo.reservations([b.id])).get(b.id) ?? []);
      }),
    );
    if ('blocked' in result) throw riskBlocked(result.blocked);
    return result;
  }

  private async confirmHold(caller: BookingCaller, holdId: string, input: BookingRequestInput): Promise<BookingView> {
    const actor = actorOf(caller.principal);
    return caller.scope.run(async (q) => {
      const repo = new BookingsRepository(q);
      const b = await repo.get(holdId, true);
      if (
        !b ||
        sideOf(caller.principal, b) !== 'customer' ||
        !(await allowedOn(caller.policy, caller.principal, 'bookings:write', record(b)))
      )
        throw notFound(holdId);
      if (b.status === 'requested' || b.status === 'confirmed') {
        // A repeat of the same confirmation: the booking as it is.
        return view(b, (await repo.reservations([b.id])).get(b.id) ?? []);
      }
      await requireGoodStanding(q, b.customerTenantId, b.customerUserId);
      const mismatch =
        (input.partnerId !== undefined && input.partnerId !== b.partnerId) ||
        (input.serviceId !== undefined && input.serviceId !== b.serviceId) ||
        (input.vehicleId !== undefined && input.vehicleId !== b.vehicleId) ||
        (input.startsAt !== undefined && input.startsAt.getTime() !== new Date(b.startsAt).getTime());
      if (mismatch) throw apiError('BOOKING_STATE_CONFLICT', 'The hold is for another shop, service, vehicle or time');
      if (b.vehicleId === null) throw apiError('BOOKING_STATE_CONFLICT', 'The vehicle of this hold no longer exists');
      if (b.status !== 'held')
        throw apiError(b.status === 'expired' ? 'HOLD_EXPIRED' : 'BOOKING_STATE_CONFLICT', `The hold is ${b.status}`, {
          status: b.status,
        });
      const updated = await q.query(
        `UPDATE bookings SET status = 'requested', source = $2::jsonb, notes = $3, updated_at = now()
          WHERE id = $1 AND status = 'held' AND hold_expires_at > now()`,
        [b.id, JSON.stringify(input.source ?? b.source), input.notes ?? b.notes],
      );
      if (updated.rowCount === 0)
        throw apiError('HOLD_EXPIRED', 'The hold has expired: hold or book the slot again', {
          holdExpiresAt: iso(b.holdExpiresAt),
        });
      await q.query(
        `UPDATE booking_reservations SET hold_expires_at = NULL WHERE booking_id = $1 AND released_at IS NULL`,
        [b.id],
      );
      const order = await new RepairOrdersRepository(q).createForBooking({
        bookingId: b.id,
        tenantId: b.tenantId,
        partnerId: b.partnerId,
        customerTenantId: b.customerTenantId,
        customerUserId: b.customerUserId,
        vehicleId: b.vehicleId,
        actor,
        side: 'customer',
      });
      await repo.announce(b.id);
      if (input.within)
        await input.within(q, {
          id: b.id,
          tenantId: b.tenantId,
          partnerId: b.partnerId,
          vehicleId: b.vehicleId,
          customerTenantId: b.customerTenantId,
          customerUserId: b.customerUserId,
          startsAt: new Date(b.startsAt),
          endsAt: new Date(b.endsAt),
          repairOrderId: order.id,
        });
      const after = (await repo.get(b.id))!;
      return view(after, (await repo.reservations([b.id])).get(b.id) ?? []);
    });
  }

  /** One change of an existing booking: lock it, decide, apply, announce, answer. */
  private change(
    caller: BookingCaller,
    id: string,
    apply: (q: Queryable, b: BookingRow, side: TransitionSide, rules: BookingRules, shop: ShopRow) => Promise<void>,
  ): Promise<BookingView> {
    return withRetry(() =>
      caller.scope.run(async (q) => {
        const repo = new BookingsRepository(q);
        const b = await repo.get(id, true);
        if (!b) throw notFound(id);
        const side = sideOf(caller.principal, b);
        if (!side || !(await allowedOn(caller.policy, caller.principal, 'bookings:read', record(b))))
          throw notFound(id);
        if (!(await allowedOn(caller.policy, caller.principal, 'bookings:write', record(b))))
          throw apiError('FORBIDDEN', 'This needs the bookings:write permission on this booking', {
            requiredPermission: 'bookings:write',
          });
        const shop = (await loadShop(q, b.partnerId)) ?? {
          id: b.partnerId,
          tenantId: b.tenantId,
          timeZone: 'UTC',
          currency: b.currency,
          status: 'unknown',
        };
        const rules = await loadRules(q, b.partnerId);
        const before = JSON.stringify(b);
        await apply(q, b, side, rules, shop);
        const after = (await repo.get(id))!;
        if (JSON.stringify(after) !== before) await repo.announce(id);
        return view(after, (await repo.reservations([id])).get(id) ?? []);
      }),
    );
  }
}
