import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';
import type { PartsOrderStatus } from './state.js';
import { catalogueParts, type CataloguePart } from '../partners/repository.js';

export interface PartsOrderRow {
  id: string;
  tenant_id: string;
  partner_id: string;
  supplier_tenant_id: string;
  supplier_partner_id: string;
  repair_order_id: string | null;
  status: PartsOrderStatus;
  currency: string;
  total_minor: string | number;
  notes: string;
  tracking: string | null;
  cancel_reason: string | null;
  created_by: string;
  created_at: Date | string;
  updated_at: Date | string;
  accepted_at: Date | string | null;
  shipped_at: Date | string | null;
  delivered_at: Date | string | null;
  cancelled_at: Date | string | null;
}

export interface PartsOrderLineRow {
  parts_order_id: string;
  part_id: string;
  sku: string;
  name: string;
  quantity: number;
  unit_price_minor: string | number;
}

export interface ShopRow {
  id: string;
  tenant_id: string;
  kinds: string[];
  currency: string;
  status: string;
}

/** Newest first. */
export const PARTS_ORDERS_LISTING: Listing = { name: 'parts-orders', key: 'created_at', id: 'id', idType: 'text' };

const COLUMNS = `id::text AS id, tenant_id, partner_id::text AS partner_id, supplier_tenant_id,
  supplier_partner_id::text AS supplier_partner_id, repair_order_id::text AS repair_order_id, status, currency,
  total_minor, notes, tracking, cancel_reason, created_by, created_at, updated_at, accepted_at, shipped_at,
  delivered_at, cancelled_at`;

/** `parts_orders` and `parts_order_lines` (db/migrations/027_repair_work.sql), and the stock they take. */
export class PartsOrdersRepository {
  constructor(private readonly q: Queryable) {}

  async get(id: string, lock = false): Promise<PartsOrderRow | undefined> {
    const { rows } = await this.q.query<PartsOrderRow>(
      `SELECT ${COLUMNS} FROM parts_orders WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0];
  }

  /** What this transaction may see (row-level security: orders placed by the tenant or supplied by it). */
  list(filter: { repairOrderId?: string | undefined }, page: PageRequest): Promise<Page<PartsOrderRow>> {
    return keysetPage<PartsOrderRow>(
      this.q,
      PARTS_ORDERS_LISTING,
      {
        sql: `SELECT ${COLUMNS} FROM parts_orders WHERE ($1::uuid IS NULL OR repair_order_id = $1)`,
        params: [filter.repairOrderId ?? null],
      },
      page,
    );
  }

  async lines(orderIds: readonly string[]): Promise<PartsOrderLineRow[]> {
    if (orderIds.length === 0) return [];
    const { rows } = await this.q.query<PartsOrderLineRow>(
      `SELECT parts_order_id::text AS parts_order_id, part_id::text AS part_id, sku, name, quantity, unit_price_minor
         FROM parts_order_lines WHERE parts_order_id = ANY ($1::uuid[]) ORDER BY parts_order_id, sku`,
      [[...orderIds]],
    );
    return rows;
  }

  /** A shop as a listing (the supplier) or as the caller's own (the buyer). */
  async shop(partnerId: string): Promise<ShopRow | undefined> {
    const { rows } = await this.q.query<ShopRow>(
      'SELECT id::text AS id, tenant_id, kinds, currency, status FROM partners WHERE id = $1',
      [partnerId],
    );
    return rows[0];
  }

  /** Parts of the supplier's catalogue, by id. */
  supplierParts(supplierPartnerId: string, ids: readonly string[]): Promise<Map<string, CataloguePart>> {
    return catalogueParts(this.q, supplierPartnerId, ids);
  }

  async insert(order: {
    tenantId: string;
    partnerId: string;
    supplierTenantId: string;
    supplierPartnerId: string;
    repairOrderId: string | null;
    currency: string;
    totalMinor: number;
    notes: string;
    createdBy: string;
    lines: readonly { partId: string; sku: string; name: string; quantity: number; unitPriceMinor: number }[];
  }): Promise<string> {
    const { rows } = await this.q.query<{ id: string }>(
      `INSERT INTO parts_orders (tenant_id, partner_id, supplier_tenant_id, supplier_partner_id, repair_order_id, currency,
                                 total_minor, notes, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id::text AS id`,
      [
        order.tenantId,
        order.partnerId,
        order.supplierTenantId,
        order.supplierPartnerId,
        order.repairOrderId,
        order.currency,
        order.totalMinor,
        order.notes,
        order.createdBy,
      ],
    );
    const id = rows[0]!.id;
    for (const l of order.lines) {
      await this.q.query(
        `INSERT INTO parts_order_lines (tenant_id, supplier_tenant_id, parts_order_id, part_id, sku, name, quantity, unit_price_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [order.tenantId, order.supplierTenantId, id, l.partId, l.sku, l.name, l.quantity, l.unitPriceMinor],
      );
    }
    return id;
  }

  /**
   * Takes `quantity` of a part from the supplier's stock, or returns the stock left when there is
   * not enough (nothing taken). One UPDATE guarded by `stock >= quantity`: a concurrent taker waits
   * for the row lock and re-checks against what the first one left, so stock never goes below zero.
   */
  async takeStock(partId: string, quantity: number): Promise<{ taken: true } | { taken: false; available: number }> {
    const { rows } = await this.q.query<{ stock: number }>(
      `UPDATE partner_parts SET stock = stock - $2, updated_at = now() WHERE id = $1 AND stock >= $2 RETURNING stock`,
      [partId, quantity],
    );
    if (rows.length > 0) return { taken: true };
    const left = await this.q.query<{ stock: number }>('SELECT stock FROM partner_parts WHERE id = $1', [partId]);
    return { taken: false, available: left.rows[0]?.stock ?? 0 };
  }

  async returnStock(partId: string, quantity: number): Promise<void> {
    await this.q.query('UPDATE partner_parts SET stock = stock + $2, updated_at = now() WHERE id = $1', [
      partId,
      quantity,
    ]);
  }

  async move(
    id: string,
    to: PartsOrderStatus,
    extra: { tracking?: string | undefined; reason?: string | undefined },
  ): Promise<void> {
    await this.q.query(
      `UPDATE parts_orders
          SET status = $2, updated_at = now(),
              accepted_at = CASE WHEN $2 = 'accepted' THEN now() ELSE accepted_at END,
              shipped_at = CASE WHEN $2 = 'shipped' THEN now() ELSE shipped_at END,
              delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END,
              cancelled_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE cancelled_at END,
              tracking = coalesce($3, tracking),
              cancel_reason = coalesce($4, cancel_reason)
        WHERE id = $1`,
      [id, to, extra.tracking ?? null, extra.reason ?? null],
    );
  }

  /** Parts orders of the repair order still on their way. */
  async openFor(repairOrderId: string): Promise<number> {
    const { rows } = await this.q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM parts_orders
        WHERE repair_order_id = $1 AND status IN ('ordered', 'accepted', 'shipped')`,
      [repairOrderId],
    );
    return rows[0]?.n ?? 0;
  }
}
