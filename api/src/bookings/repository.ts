import type { Queryable } from '@clutch/db';
import { appendEvent } from '@clutch/jobs';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

/** bookings, booking_reservations, shop_resources (db/migrations/026_bookings.sql). */

export type BookingStatus = 'held' | 'requested' | 'confirmed' | 'cancelled' | 'expired' | 'no_show';

export interface BookingSource {
  kind: 'manual' | 'dtc' | 'alert';
  codes?: string[] | undefined;
  freezeFrame?: Record<string, unknown> | undefined;
  alertId?: string | undefined;
  explanation?: string | undefined;
}

export interface BookingRow {
  id: string;
  tenantId: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
  vehicleId: string | null;
  serviceId: string | null;
  serviceCode: string;
  serviceName: string;
  status: BookingStatus;
  startsAt: Date;
  endsAt: Date;
  holdExpiresAt: Date | null;
  source: BookingSource;
  notes: string | null;
  priceMinor: number | null;
  currency: string;
  cancellationFeeMinor: number;
  noShowFeeMinor: number;
  cancelledAt: Date | null;
  cancelledBy: string | null;
  cancelReason: string | null;
  rescheduleCount: number;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  repairOrderId: string | null;
  repairOrderStatus: string | null;
}

export const BOOKING_COLUMNS = `b.id, b.tenant_id AS "tenantId", b.partner_id AS "partnerId",
  b.customer_tenant_id AS "customerTenantId", b.customer_user_id AS "customerUserId", b.vehicle_id AS "vehicleId",
  b.service_id AS "serviceId", b.service_code AS "serviceCode", b.service_name AS "serviceName", b.status,
  b.starts_at AS "startsAt", b.ends_at AS "endsAt", b.hold_expires_at AS "holdExpiresAt", b.source, b.notes,
  b.price_minor AS "priceMinor", b.currency, b.cancellation_fee_minor AS "cancellationFeeMinor",
  b.no_show_fee_minor AS "noShowFeeMinor", b.cancelled_at AS "cancelledAt", b.cancelled_by AS "cancelledBy",
  b.cancel_reason AS "cancelReason", b.reschedule_count AS "rescheduleCount", b.created_by AS "createdBy",
  b.created_at AS "createdAt", b.updated_at AS "updatedAt",
  (SELECT ro.id FROM repair_orders ro WHERE ro.booking_id = b.id) AS "repairOrderId",
  (SELECT ro.status FROM repair_orders ro WHERE ro.booking_id = b.id) AS "repairOrderStatus"`;

/** The shop's calendar and the customer's list: by start time, the latest first unless asked otherwise. */
export const BOOKINGS_LISTING: Listing = { name: 'bookings', key: 'starts_at', id: 'id', idType: 'uuid' };
export const BOOKINGS_LISTING_ASC: Listing = { ...BOOKINGS_LISTING, name: 'bookings-asc', order: 'asc' };

export interface ReservedResource {
  id: string;
  kind: string;
  /** Null for the customer's side, which does not see the shop's resources. */
  name: string | null;
}

export interface NewBooking {
  tenantId: string;
  partnerId: string;
  customerTenantId: string;
  customerUserId: string | null;
  vehicleId: string;
  serviceId: string;
  serviceCode: string;
  serviceName: string;
  status: 'held' | 'requested';
  startsAt: Date;
  endsAt: Date;
  holdMinutes: number | null;
  source: BookingSource;
  notes: string | null;
  priceMinor: number | null;
  currency: string;
  createdBy: string;
}

export class BookingsRepository {
  constructor(private readonly q: Queryable) {}

  async insert(b: NewBooking): Promise<{ id: string; holdExpiresAt: Date | null }> {
    const { rows } = await this.q.query<{ id: string; hold_expires_at: Date | null }>(
      `INSERT INTO bookings (tenant_id, partner_id, customer_tenant_id, customer_user_id, vehicle_id, service_id,
         service_code, service_name, status, starts_at, ends_at, hold_expires_at, source, notes, price_minor, currency, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
         CASE WHEN $12::int IS NULL THEN NULL ELSE now() + make_interval(mins => $12::int) END,
         $13::jsonb, $14, $15, $16, $17)
       RETURNING id, hold_expires_at`,
      [
        b.tenantId,
        b.partnerId,
        b.customerTenantId,
        b.customerUserId,
        b.vehicleId,
        b.serviceId,
        b.serviceCode,
        b.serviceName,
        b.status,
        b.startsAt,
        b.endsAt,
        b.holdMinutes,
        JSON.stringify(b.source),
        b.notes,
        b.priceMinor,
        b.currency,
        b.createdBy,
      ],
    );
    return { id: rows[0]!.id, holdExpiresAt: rows[0]!.hold_expires_at };
  }

  async get(id: string, lock = false): Promise<BookingRow | undefined> {
    const { rows } = await this.q.query<BookingRow>(
      `SELECT ${BOOKING_COLUMNS} FROM bookings b WHERE b.id = $1${lock ? ' FOR UPDATE OF b' : ''}`,
      [id],
    );
    return rows[0];
  }

  /** What the caller's row-level security lets it see, filtered, one page in start order. */
  list(
    filter: {
      partnerId?: string | undefined;
      status?: readonly string[] | undefined;
      from?: Date | undefined;
      to?: Date | undefined;
    },
    page: PageRequest,
    ascending: boolean,
  ): Promise<Page<BookingRow & { starts_at: string }>> {
    return keysetPage(
      this.q,
      ascending ? BOOKINGS_LISTING_ASC : BOOKINGS_LISTING,
      {
        sql: `SELECT ${BOOKING_COLUMNS}, b.starts_at FROM bookings b
               WHERE ($1::uuid IS NULL OR b.partner_id = $1) AND ($2::text[] IS NULL OR b.status = ANY ($2))
                 AND ($3::timestamptz IS NULL OR b.ends_at > $3) AND ($4::timestamptz IS NULL OR b.starts_at < $4)`,
        params: [
          filter.partnerId ?? null,
          filter.status ? [...filter.status] : null,
          filter.from ?? null,
          filter.to ?? null,
        ],
      },
      page,
    );
  }

  /** Live reservations of bookings, with names where the caller sees the shop's resources. */
  async reservations(bookingIds: readonly string[]): Promise<Map<string, ReservedResource[]>> {
    const byBooking = new Map<string, ReservedResource[]>();
    if (bookingIds.length === 0) return byBooking;
    const { rows } = await this.q.query<{ booking_id: string; id: string; kind: string; name: string | null }>(
      `SELECT r.booking_id, r.resource_id AS id, r.resource_kind AS kind, s.name
         FROM booking_reservations r LEFT JOIN shop_resources s ON s.id = r.resource_id
        WHERE r.booking_id = ANY ($1::uuid[]) AND r.released_at IS NULL
        ORDER BY r.booking_id, r.resource_kind, r.resource_id`,
      [[...bookingIds]],
    );
    for (const r of rows) {
      const list = byBooking.get(r.booking_id) ?? [];
      list.push({ id: r.id, kind: r.kind, name: r.name });
      byBooking.set(r.booking_id, list);
    }
    return byBooking;
  }

  async releaseReservations(bookingId: string): Promise<void> {
    await this.q.query(
      `UPDATE booking_reservations SET released_at = now() WHERE booking_id = $1 AND released_at IS NULL`,
      [bookingId],
    );
  }

  /** Appends `booking.updated` (MARKETPLACE.md) for the booking as it is now in this transaction. */
  async announce(bookingId: string): Promise<void> {
    const b = await this.get(bookingId);
    if (!b) return;
    await appendEvent(this.q, {
      tenantId: b.tenantId,
      topic: 'booking.updated',
      payload: {
        bookingId: b.id,
        partnerId: b.partnerId,
        customerTenantId: b.customerTenantId,
        customerUserId: b.customerUserId,
        vehicleId: b.vehicleId,
        status: b.status,
        startsAt: new Date(b.startsAt).toISOString(),
        endsAt: new Date(b.endsAt).toISOString(),
        at: new Date().toISOString(),
      },
    });
  }
}
