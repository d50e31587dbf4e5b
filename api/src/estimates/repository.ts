import type { Queryable } from '@clutch/db';
import type { OrderRow } from '../repair-work/order-access.js';
import type { LineAmounts } from './money.js';
import { catalogueParts, type CataloguePart } from '../partners/repository.js';

export type EstimateStatus = 'draft' | 'sent' | 'decided' | 'superseded';
export type LineKind = 'labour' | 'part' | 'fee';
export type LineDecision = 'approved' | 'declined';

export interface EstimateRow {
  id: string;
  tenant_id: string;
  partner_id: string;
  repair_order_id: string;
  customer_tenant_id: string;
  customer_user_id: string | null;
  supplemental: boolean;
  revision: number;
  revises_id: string | null;
  status: EstimateStatus;
  currency: string;
  net_minor: string | number;
  tax_minor: string | number;
  total_minor: string | number;
  approved_total_minor: string | number | null;
  notes: string;
  created_by: string;
  created_at: Date | string;
  sent_at: Date | string | null;
  decided_at: Date | string | null;
  decided_by: string | null;
}

export interface LineRow {
  id: string;
  estimate_id: string;
  position: number;
  kind: LineKind;
  description: string;
  part_id: string | null;
  sku: string | null;
  quantity_milli: number;
  unit_price_minor: string | number;
  tax_rate_bp: number;
  net_minor: string | number;
  tax_minor: string | number;
  total_minor: string | number;
  decision: LineDecision | null;
  decided_at: Date | string | null;
}

/** A line ready to store: what was asked, priced, with its amounts. */
export interface PricedLine extends LineAmounts {
  kind: LineKind;
  description: string;
  partId: string | null;
  sku: string | null;
  quantityMilli: number;
  unitPriceMinor: number;
  taxRateBp: number;
}

const ESTIMATE_COLUMNS = `id::text AS id, tenant_id, partner_id::text AS partner_id, repair_order_id::text AS repair_order_id,
  customer_tenant_id, customer_user_id::text AS customer_user_id, supplemental, revision, revises_id::text AS revises_id,
  status, currency, net_minor, tax_minor, total_minor, approved_total_minor, notes, created_by, created_at, sent_at,
  decided_at, decided_by`;

const LINE_COLUMNS = `id::text AS id, estimate_id::text AS estimate_id, position, kind, description, part_id::text AS part_id,
  sku, quantity_milli, unit_price_minor, tax_rate_bp, net_minor, tax_minor, total_minor, decision, decided_at`;

/** `estimates` and `estimate_lines` (db/migrations/027_repair_work.sql). */
export class EstimatesRepository {
  constructor(private readonly q: Queryable) {}

  async get(id: string, lock = false): Promise<EstimateRow | undefined> {
    const { rows } = await this.q.query<EstimateRow>(
      `SELECT ${ESTIMATE_COLUMNS} FROM estimates WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0];
  }

  async byOrder(repairOrderId: string): Promise<EstimateRow[]> {
    const { rows } = await this.q.query<EstimateRow>(
      `SELECT ${ESTIMATE_COLUMNS} FROM estimates WHERE repair_order_id = $1 ORDER BY created_at, revision, id`,
      [repairOrderId],
    );
    return rows;
  }

  /** The estimates of an order in a status (the one draft, the one sent). */
  async ofOrderIn(repairOrderId: string, status: EstimateStatus): Promise<EstimateRow | undefined> {
    const { rows } = await this.q.query<EstimateRow>(
      `SELECT ${ESTIMATE_COLUMNS} FROM estimates WHERE repair_order_id = $1 AND status = $2`,
      [repairOrderId, status],
    );
    return rows[0];
  }

  async lines(estimateIds: readonly string[]): Promise<LineRow[]> {
    if (estimateIds.length === 0) return [];
    const { rows } = await this.q.query<LineRow>(
      `SELECT ${LINE_COLUMNS} FROM estimate_lines WHERE estimate_id = ANY ($1::uuid[]) ORDER BY estimate_id, position`,
      [[...estimateIds]],
    );
    return rows;
  }

  async insert(
    order: OrderRow,
    input: {
      supplemental: boolean;
      revision: number;
      revisesId: string | null;
      currency: string;
      notes: string;
      createdBy: string;
    },
  ): Promise<string> {
    const { rows } = await this.q.query<{ id: string }>(
      `INSERT INTO estimates (tenant_id, partner_id, repair_order_id, customer_tenant_id, customer_user_id, supplemental,
                              revision, revises_id, currency, notes, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id::text AS id`,
      [
        order.tenant_id,
        order.partner_id,
        order.id,
        order.customer_tenant_id,
        order.customer_user_id,
        input.supplemental,
        input.revision,
        input.revisesId,
        input.currency,
        input.notes,
        input.createdBy,
      ],
    );
    return rows[0]!.id;
  }

  /** Replaces a draft's lines and totals (the triggers refuse it once the estimate is sent). */
  async replaceLines(estimate: EstimateRow, lines: readonly PricedLine[], totals: LineAmounts, notes: string) {
    await this.q.query('DELETE FROM estimate_lines WHERE estimate_id = $1', [estimate.id]);
    for (const [position, l] of lines.entries()) {
      await this.q.query(
        `INSERT INTO estimate_lines (tenant_id, estimate_id, customer_tenant_id, customer_user_id, position, kind, description,
                                     part_id, sku, quantity_milli, unit_price_minor, tax_rate_bp, net_minor, tax_minor, total_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [
          estimate.tenant_id,
          estimate.id,
          estimate.customer_tenant_id,
          estimate.customer_user_id,
          position,
          l.kind,
          l.description,
          l.partId,
          l.sku,
          l.quantityMilli,
          l.unitPriceMinor,
          l.taxRateBp,
          l.netMinor,
          l.taxMinor,
          l.totalMinor,
        ],
      );
    }
    await this.q.query(
      `UPDATE estimates SET net_minor = $2, tax_minor = $3, total_minor = $4, notes = $5, updated_at = now() WHERE id = $1`,
      [estimate.id, totals.netMinor, totals.taxMinor, totals.totalMinor, notes],
    );
  }

  async setStatus(id: string, status: 'sent' | 'superseded'): Promise<void> {
    await this.q.query(
      `UPDATE estimates SET status = $2, sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END, updated_at = now()
        WHERE id = $1`,
      [id, status],
    );
  }

  async decideLine(lineId: string, decision: LineDecision): Promise<void> {
    await this.q.query('UPDATE estimate_lines SET decision = $2, decided_at = now() WHERE id = $1', [lineId, decision]);
  }

  async markDecided(id: string, approvedTotalMinor: number, by: string): Promise<void> {
    await this.q.query(
      `UPDATE estimates SET status = 'decided', approved_total_minor = $2, decided_at = now(), decided_by = $3,
              updated_at = now()
        WHERE id = $1`,
      [id, approvedTotalMinor, by],
    );
  }

  /** The shop's currency and labour rate (its own row). */
  async shopTerms(partnerId: string): Promise<{ currency: string; labour_rate_minor: number | null } | undefined> {
    const { rows } = await this.q.query<{ currency: string; labour_rate_minor: number | null }>(
      'SELECT currency, labour_rate_minor FROM partners WHERE id = $1',
      [partnerId],
    );
    return rows[0];
  }

  /** Parts of the shop's own catalogue, by id. */
  parts(partnerId: string, ids: readonly string[]): Promise<Map<string, CataloguePart>> {
    return catalogueParts(this.q, partnerId, ids);
  }
}
