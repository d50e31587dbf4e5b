import { actorOf } from '../auth/scope.js';
import { allowedOn, sideOf, type PartyRecord } from '../bookings/access.js';
import { loadRules } from '../bookings/availability.js';
import { markNoShow } from '../bookings/no-show.js';
import type { BookingCaller } from '../bookings/service.js';
import { apiError } from '../errors.js';
import type { Page, PageRequest } from '../http/pagination.js';
import {
  nextStatuses,
  TRANSITION_ROUTES,
  transitionOf,
  transitionRepairOrder,
  type RepairOrderStatus,
  type TransitionSide,
} from './lifecycle.js';
import { RepairOrdersRepository, type RepairOrderEventRow, type RepairOrderRow } from './repository.js';

export interface RepairOrderView {
  id: string;
  partnerId: string;
  bookingId: string | null;
  customerTenantId: string;
  customerUserId: string | null;
  vehicleId: string | null;
  status: RepairOrderStatus;
  statusChangedAt: string;
  createdAt: string;
  startsAt: string | null;
  endsAt: string | null;
  serviceCode: string | null;
  serviceName: string | null;
}

export interface NextMove {
  to: RepairOrderStatus;
  /** `transitions`: POST /api/repair-orders/:id/transitions; else the route that makes the move. */
  route: string;
  path: string;
}

export interface RepairOrderDetail extends RepairOrderView {
  /** The caller's side of the order. */
  side: TransitionSide;
  events: {
    from: RepairOrderStatus | null;
    to: RepairOrderStatus;
    at: string;
    actor: string;
    side: TransitionSide;
    note: string | null;
    data: Record<string, unknown> | null;
  }[];
  /** Where the caller's side may move the order next, and through which route. */
  transitions: NextMove[];
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

function view(o: RepairOrderRow): RepairOrderView {
  return {
    id: o.id,
    partnerId: o.partnerId,
    bookingId: o.bookingId,
    customerTenantId: o.customerTenantId,
    customerUserId: o.customerUserId,
    vehicleId: o.vehicleId,
    status: o.status,
    statusChangedAt: iso(o.statusChangedAt)!,
    createdAt: iso(o.createdAt)!,
    startsAt: iso(o.startsAt),
    endsAt: iso(o.endsAt),
    serviceCode: o.serviceCode,
    serviceName: o.serviceName,
  };
}

const record = (o: RepairOrderRow): PartyRecord => ({
  type: 'repair-order',
  id: o.id,
  bookingId: o.bookingId,
  tenantId: o.tenantId,
  partnerId: o.partnerId,
  customerTenantId: o.customerTenantId,
  customerUserId: o.customerUserId,
});

const notFound = (id: string): Error => apiError('REPAIR_ORDER_NOT_FOUND', undefined, { repairOrderId: id });

/** The moves a side may make from a status, each with the route that makes it. */
export function movesFor(status: RepairOrderStatus, side: TransitionSide, workApproved: boolean): NextMove[] {
  return nextStatuses(status, side)
    .filter((to) => transitionOf(status, to)?.guard !== 'work_approved' || workApproved)
    .map((to) => {
      const own = TRANSITION_ROUTES[to];
      if (own) return { to, route: own.route, path: own.path };
      // The customer holds no repair-orders:write: their one plain move has its own route.
      return side === 'customer'
        ? { to, route: 'resume', path: 'POST /api/repair-orders/:id/resume' }
        : { to, route: 'transitions', path: 'POST /api/repair-orders/:id/transitions' };
    });
}

/**
 * Repair orders: the shop's job board, one order with its timeline, and the plain moves of the
 * lifecycle. Moves that carry data or change the booking too (confirm, cancel, check-in, estimates,
 * decisions) are refused here with TRANSITION_HAS_OWN_ROUTE naming their route; a no-show marked by
 * the shop also marks the booking.
 */
export class RepairOrdersService {
  list(
    caller: BookingCaller,
    filter: { status?: string[] | undefined; partnerId?: string | undefined; vehicleId?: string | undefined },
    page: PageRequest,
  ): Promise<Page<RepairOrderView>> {
    return caller.scope.run(async (q) => {
      const found = await new RepairOrdersRepository(q).list(filter, page);
      const items: RepairOrderView[] = [];
      for (const o of found.items)
        if (await allowedOn(caller.policy, caller.principal, 'repair-orders:read', record(o))) items.push(view(o));
      return { items, next: found.next };
    });
  }

  get(caller: BookingCaller, id: string): Promise<RepairOrderDetail> {
    return caller.scope.run(async (q) => {
      const repo = new RepairOrdersRepository(q);
      const o = await repo.get(id);
      if (!o || !(await allowedOn(caller.policy, caller.principal, 'repair-orders:read', record(o))))
        throw notFound(id);
      return this.detail(caller, o, await repo.events(id));
    });
  }

  /** A plain move of the lifecycle by the shop (see the class comment for the others). */
  transition(
    caller: BookingCaller,
    id: string,
    input: { to: RepairOrderStatus; note?: string | undefined },
  ): Promise<RepairOrderDetail> {
    return caller.scope.run(async (q) => {
      const repo = new RepairOrdersRepository(q);
      const o = await repo.get(id);
      if (!o || !(await allowedOn(caller.policy, caller.principal, 'repair-orders:read', record(o))))
        throw notFound(id);
      const side = sideOf(caller.principal, o);
      if (!side) throw notFound(id);
      if (!(await allowedOn(caller.policy, caller.principal, 'repair-orders:write', record(o))))
        throw apiError('FORBIDDEN', 'This needs the repair-orders:write permission on this repair order', {
          requiredPermission: 'repair-orders:write',
        });
      const own = TRANSITION_ROUTES[input.to];
      if (own)
        throw apiError('TRANSITION_HAS_OWN_ROUTE', `A move to ${input.to} is made through ${own.path}`, {
          to: input.to,
          route: own.route,
          path: own.path,
        });
      const actor = actorOf(caller.principal);
      if (input.to === 'no_show' && o.bookingId) {
        // The booking is marked with it (and the move checked, the order locked, inside markNoShow).
        const rules = await loadRules(q, o.partnerId);
        await markNoShow(q, { id: o.bookingId, repairOrderId: o.id }, rules.noShowFeeMinor, actor, side);
      } else {
        await transitionRepairOrder(q, { repairOrderId: o.id, to: input.to, actor, side, note: input.note });
      }
      const after = (await repo.get(id))!;
      return this.detail(caller, after, await repo.events(id));
    });
  }

  /**
   * The customer answers the shop that waits for them (waiting_customer -> in_progress): a move of
   * their booking, so it needs bookings:write on it, as cancelling does, not repair-orders:write.
   */
  resume(caller: BookingCaller, id: string, input: { note?: string | undefined }): Promise<RepairOrderDetail> {
    return caller.scope.run(async (q) => {
      const repo = new RepairOrdersRepository(q);
      const o = await repo.get(id);
      if (!o || !(await allowedOn(caller.policy, caller.principal, 'repair-orders:read', record(o))))
        throw notFound(id);
      if (sideOf(caller.principal, o) !== 'customer') throw notFound(id);
      if (!(await allowedOn(caller.policy, caller.principal, 'bookings:write', record(o))))
        throw apiError('FORBIDDEN', 'This needs the bookings:write permission on this booking', {
          requiredPermission: 'bookings:write',
        });
      await transitionRepairOrder(q, {
        repairOrderId: o.id,
        to: 'in_progress',
        actor: actorOf(caller.principal),
        side: 'customer',
        note: input.note,
      });
      const after = (await repo.get(id))!;
      return this.detail(caller, after, await repo.events(id));
    });
  }

  private detail(caller: BookingCaller, o: RepairOrderRow, events: RepairOrderEventRow[]): RepairOrderDetail {
    const side = sideOf(caller.principal, o) ?? 'shop';
    return {
      ...view(o),
      side,
      events: events.map((e) => ({
        from: e.fromStatus,
        to: e.toStatus,
        at: iso(e.at)!,
        actor: e.actor,
        side: e.side,
        note: e.note,
        data: e.data,
      })),
      transitions: movesFor(o.status, side, o.approvedAt !== null),
    };
  }
}
