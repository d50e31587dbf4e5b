import type { Queryable } from '@clutch/db';
import { appendEvent } from '@clutch/jobs';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';
import type { RepairOrderStatus, TransitionSide } from './lifecycle.js';

/** repair_orders and repair_order_events (db/migrations/026_bookings.sql). */

export interface RepairOrderRow {
  id: string;
  tenantId: string;
  partnerId: string;
  bookingId: string | null;
  customerTenantId: string;
  customerUserId: string | null;
  vehicleId: string | null;
  status: RepairOrderStatus;
  statusChangedAt: Date;
  approvedAt: Date | null;
  createdAt: Date;
  startsAt: Date | null;
  endsAt: Date | null;
  serviceCode: string | null;
  serviceName: string | null;
}

export interface RepairOrderEventRow {
  id: string;
  fromStatus: RepairOrderStatus | null;
  toStatus: RepairOrderStatus;
  actor: string;
  side: TransitionSide;
  at: Date;
  note: string | null;
  data: Record<string, unknown> | null;
}

const COLUMNS = `o.id, o.tenant_id AS "tenantId", o.partner_id AS "partnerId", o.booking_id AS "bookingId",
  o.customer_tenant_id AS "customerTenantId", o.customer_user_id AS "customerUserId", o.vehicle_id AS "vehicleId",
  o.status, o.status_changed_at AS "statusChangedAt", o.approved_at AS "approvedAt", o.created_at AS "createdAt",
  b.starts_at AS "startsAt", b.ends_at AS "endsAt", b.service_code AS "serviceCode", b.service_name AS "serviceName"`;

/** The job board: the most recently moved first. */
export const REPAIR_ORDERS_LISTING: Listing = {
  name: 'repair-orders',
  key: 'status_changed_at',
  id: 'id',
  idType: 'uuid',
};

export class RepairOrdersRepository {
  constructor(private readonly q: Queryable) {}

  /**
   * A new order for a booking request, in `requested` (the trigger of migration 026 refuses any other
   * first state), with its first timeline event and the live event announcing it.
   */
  async createForBooking(b: {
    bookingId: string;
    tenantId: string;
    partnerId: string;
    customerTenantId: string;
    customerUserId: string | null;
    vehicleId: string | null;
    actor: string;
    side: TransitionSide;
  }): Promise<{ id: string; at: Date }> {
    const { rows } = await this.q.query<{ id: string; at: Date }>(
      `INSERT INTO repair_orders (tenant_id, partner_id, booking_id, customer_tenant_id, customer_user_id, vehicle_id, status)
       VALUES ($1, $2, $3, $4, $5, $6, 'requested') RETURNING id, status_changed_at AS at`,
      [b.tenantId, b.partnerId, b.bookingId, b.customerTenantId, b.customerUserId, b.vehicleId],
    );
    const order = rows[0]!;
    await this.q.query(
      `INSERT INTO repair_order_events
         (tenant_id, repair_order_id, customer_tenant_id, customer_user_id, from_status, to_status, actor, side, at)
       VALUES ($1, $2, $3, $4, NULL, 'requested', $5, $6, $7)`,
      [b.tenantId, order.id, b.customerTenantId, b.customerUserId, b.actor, b.side, order.at],
    );
    await appendEvent(this.q, {
      tenantId: b.tenantId,
      topic: 'repair-order.status-changed',
      payload: {
        repairOrderId: order.id,
        bookingId: b.bookingId,
        partnerId: b.partnerId,
        customerTenantId: b.customerTenantId,
        customerUserId: b.customerUserId,
        vehicleId: b.vehicleId,
        from: null,
        to: 'requested',
        at: new Date(order.at).toISOString(),
      },
    });
    return { id: order.id, at: new Date(order.at) };
  }

  async get(id: string): Promise<RepairOrderRow | undefined> {
    const { rows } = await this.q.query<RepairOrderRow>(
      `SELECT ${COLUMNS} FROM repair_orders o LEFT JOIN bookings b ON b.id = o.booking_id WHERE o.id = $1`,
      [id],
    );
    return rows[0];
  }

  async byBooking(bookingId: string): Promise<RepairOrderRow | undefined> {
    const { rows } = await this.q.query<RepairOrderRow>(
      `SELECT ${COLUMNS} FROM repair_orders o LEFT JOIN bookings b ON b.id = o.booking_id WHERE o.booking_id = $1`,
      [bookingId],
    );
    return rows[0];
  }

  async events(id: string): Promise<RepairOrderEventRow[]> {
    const { rows } = await this.q.query<RepairOrderEventRow>(
      `SELECT id::text AS id, from_status AS "fromStatus", to_status AS "toStatus", actor, side, at, note, data
         FROM repair_order_events WHERE repair_order_id = $1 ORDER BY repair_order_events.id`,
      [id],
    );
    return rows;
  }

  list(
    filter: { status?: readonly string[] | undefined; partnerId?: string | undefined; vehicleId?: string | undefined },
    page: PageRequest,
  ): Promise<Page<RepairOrderRow & { status_changed_at: string }>> {
    return keysetPage(
      this.q,
      REPAIR_ORDERS_LISTING,
      {
        sql: `SELECT ${COLUMNS}, o.status_changed_at FROM repair_orders o LEFT JOIN bookings b ON b.id = o.booking_id
               WHERE ($1::text[] IS NULL OR o.status = ANY ($1)) AND ($2::uuid IS NULL OR o.partner_id = $2)
                 AND ($3::uuid IS NULL OR o.vehicle_id = $3)`,
        params: [filter.status ? [...filter.status] : null, filter.partnerId ?? null, filter.vehicleId ?? null],
      },
      page,
    );
  }
}
