import type { Queryable } from '@clutch/db';
import { appendEvent } from '@clutch/jobs';
import { actorOf } from '../auth/scope.js';
import type { RepairWorkActor } from '../check-ins/service.js';
import { apiError } from '../errors.js';
import type { PageRequest } from '../http/pagination.js';
import { transitionRepairOrder } from '../repair-orders/lifecycle.js';
import { mayOnShopRecord, readOrder, requireOnOrder } from '../repair-work/order-access.js';
import { isCheckViolation } from '../repair-work/sql-errors.js';
import { toIso } from '../shared/time.js';
import { PartsOrdersRepository, type PartsOrderLineRow, type PartsOrderRow } from './repository.js';
import { nextPartsOrderStatus, type PartsOrderAction, type PartsOrderSide } from './state.js';

export const PARTS_ORDER_PAGE = { defaultLimit: 50, maxLimit: 200 } as const;
export const MAX_PARTS_ORDER_LINES = 50;

export interface PartsOrderView {
  id: string;
  partnerId: string;
  supplierPartnerId: string;
  repairOrderId: string | null;
  status: PartsOrderRow['status'];
  currency: string;
  totalMinor: number;
  notes: string;
  tracking: string | null;
  cancelReason: string | null;
  lines: { partId: string; sku: string; name: string; quantity: number; unitPriceMinor: number }[];
  createdAt: string;
  acceptedAt: string | null;
  shippedAt: string | null;
  deliveredAt: string | null;
  cancelledAt: string | null;
}

function view(o: PartsOrderRow, lines: readonly PartsOrderLineRow[]): PartsOrderView {
  return {
    id: o.id,
    partnerId: o.partner_id,
    supplierPartnerId: o.supplier_partner_id,
    repairOrderId: o.repair_order_id,
    status: o.status,
    currency: o.currency,
    totalMinor: Number(o.total_minor),
    notes: o.notes,
    tracking: o.tracking,
    cancelReason: o.cancel_reason,
    lines: lines
      .filter((l) => l.parts_order_id === o.id)
      .map((l) => ({
        partId: l.part_id,
        sku: l.sku,
        name: l.name,
        quantity: l.quantity,
        unitPriceMinor: Number(l.unit_price_minor),
      })),
    createdAt: toIso(o.created_at) ?? '',
    acceptedAt: toIso(o.accepted_at),
    shippedAt: toIso(o.shipped_at),
    deliveredAt: toIso(o.delivered_at),
    cancelledAt: toIso(o.cancelled_at),
  };
}

const notFound = (id: string): Error => apiError('PARTS_ORDER_NOT_FOUND', `No parts order ${id}`, { partsOrderId: id });

/** The order as its buyer or its supplier sees it, for the policy. */
const asRecord = (o: PartsOrderRow, side: PartsOrderSide) =>
  side === 'buyer'
    ? { type: 'parts-order', id: o.id, tenantId: o.tenant_id, shopId: o.partner_id }
    : { type: 'parts-order', id: o.id, tenantId: o.supplier_tenant_id, shopId: o.supplier_partner_id };

/**
 * Parts orders (issue 15, item 4): a repair center orders parts from a parts shop (another shop,
 * usually of another organisation), often for a repair order. The supplier accepts (its stock is
 * taken then, atomically, never below zero: not enough is a 409), ships, and the repair center
 * confirms delivery. Placing one for a repair order in progress moves the order to waiting_parts;
 * the delivery (or the buyer's cancellation) of the last open one moves it back to in_progress
 * (docs/repair-work.md, "Parts orders").
 */
export class PartsOrdersService {
  async place(
    actor: RepairWorkActor,
    input: {
      supplierPartnerId: string;
      repairOrderId?: string | undefined;
      partnerId?: string | undefined;
      notes?: string | undefined;
      lines: { partId: string; quantity: number }[];
    },
  ): Promise<PartsOrderView> {
    const by = actorOf(actor.principal);
    return actor.scope.run(async (q) => {
      const repo = new PartsOrdersRepository(q);
      const invalid = (detail: string, pointer?: string): Error =>
        apiError('PARTS_ORDER_INVALID', detail, pointer ? { pointer } : {});
      // The buyer: the repair order's shop, or the shop named.
      const order = input.repairOrderId
        ? await requireOnOrder(
            actor.policy,
            'parts-orders:write',
            await readOrder(q, input.repairOrderId, true),
            input.repairOrderId,
            'shop',
          )
        : undefined;
      const partnerId = order?.partner_id ?? input.partnerId;
      if (partnerId === undefined)
        throw invalid('Name the repair order (repairOrderId) or the ordering shop (partnerId)');
      if (order && input.partnerId !== undefined && input.partnerId !== order.partner_id)
        throw invalid('partnerId is not the shop of the repair order', '/partnerId');
      const buyer = await repo.shop(partnerId);
      const mine = buyer && (actor.scope.tenantId === undefined || buyer.tenant_id === actor.scope.tenantId);
      if (
        !buyer ||
        !mine ||
        !(await mayOnShopRecord(actor.policy, 'parts-orders:write', {
          type: 'parts-order',
          id: buyer.id,
          tenantId: buyer.tenant_id,
          shopId: buyer.id,
        }))
      )
        throw apiError('PARTNER_NOT_FOUND', `No shop ${partnerId} of yours`, { partnerId });
      if (!buyer.kinds.includes('repair_center')) throw invalid('Only a repair center orders parts', '/partnerId');
      const supplier = await repo.shop(input.supplierPartnerId);
      if (!supplier || supplier.status !== 'active' || !supplier.kinds.includes('parts_shop'))
        throw apiError('PARTNER_NOT_FOUND', `No listed parts shop ${input.supplierPartnerId}`, {
          partnerId: input.supplierPartnerId,
        });
      if (supplier.id === buyer.id) throw invalid('A shop does not order from itself', '/supplierPartnerId');
      const ids = input.lines.map((l) => l.partId);
      if (new Set(ids).size !== ids.length) throw invalid('Each part appears once; add up the quantities', '/lines');
      const parts = await repo.supplierParts(supplier.id, ids);
      const lines = input.lines.map((l, i) => {
        const part = parts.get(l.partId);
        if (!part)
          throw apiError('PART_NOT_FOUND', `Part ${l.partId} is not in the supplier's active catalogue`, {
            pointer: `/lines/${i}/partId`,
          });
        if (part.currency !== supplier.currency)
          throw invalid(`Part ${part.sku} is priced in ${part.currency}, the shop sells in ${supplier.currency}`);
        return {
          partId: l.partId,
          sku: part.sku,
          name: part.name,
          quantity: l.quantity,
          unitPriceMinor: part.price_minor,
        };
      });
      const totalMinor = lines.reduce((s, l) => s + l.quantity * l.unitPriceMinor, 0);
      const id = await repo.insert({
        tenantId: buyer.tenant_id,
        partnerId: buyer.id,
        supplierTenantId: supplier.tenant_id,
        supplierPartnerId: supplier.id,
        repairOrderId: order?.id ?? null,
        currency: supplier.currency,
        totalMinor,
        notes: input.notes ?? '',
        createdBy: by,
        lines,
      });
      const placed = (await repo.get(id))!;
      if (order?.status === 'in_progress')
        await transitionRepairOrder(q, {
          repairOrderId: order.id,
          to: 'waiting_parts',
          actor: by,
          side: 'system',
          note: 'parts ordered',
          data: { partsOrderId: id },
        });
      await this.announce(q, placed, null);
      return view(placed, await repo.lines([id]));
    });
  }

  async get(actor: RepairWorkActor, id: string): Promise<PartsOrderView> {
    return actor.scope.run(async (q) => {
      const repo = new PartsOrdersRepository(q);
      const order = await repo.get(id);
      if (!order || !(await this.readable(actor, order))) throw notFound(id);
      return view(order, await repo.lines([id]));
    });
  }

  async list(
    actor: RepairWorkActor,
    filter: { repairOrderId?: string | undefined },
    page: PageRequest,
  ): Promise<{ partsOrders: PartsOrderView[]; next: string | null }> {
    return actor.scope.run(async (q) => {
      const repo = new PartsOrdersRepository(q);
      const { items, next } = await repo.list(filter, page);
      const visible: PartsOrderRow[] = [];
      for (const o of items) if (await this.readable(actor, o)) visible.push(o);
      const lines = await repo.lines(visible.map((o) => o.id));
      return { partsOrders: visible.map((o) => view(o, lines)), next };
    });
  }

  async move(
    actor: RepairWorkActor,
    id: string,
    action: PartsOrderAction,
    extra: { tracking?: string | undefined; reason?: string | undefined },
  ): Promise<PartsOrderView> {
    const by = actorOf(actor.principal);
    return actor.scope
      .run(async (q) => {
        const repo = new PartsOrdersRepository(q);
        const order = await repo.get(id, true);
        if (!order) throw notFound(id);
        const side = this.sideOf(actor, order, action);
        if (!(await mayOnShopRecord(actor.policy, 'parts-orders:write', asRecord(order, side)))) {
          if (await this.readable(actor, order))
            throw apiError('FORBIDDEN', 'This needs the parts-orders:write permission on this parts order', {
              requiredPermission: 'parts-orders:write',
            });
          throw notFound(id);
        }
        const next = nextPartsOrderStatus(order.status, action, side);
        if ('refused' in next)
          throw apiError('PARTS_ORDER_STATE_CONFLICT', next.refused, { status: order.status, action });
        const lines = await repo.lines([id]);
        if (action === 'accept') {
          // In one order of parts, so two acceptances sharing parts wait for each other rather than deadlock.
          for (const l of [...lines].sort((a, b) => a.part_id.localeCompare(b.part_id))) {
            const took = await repo.takeStock(l.part_id, l.quantity);
            if (!took.taken)
              throw apiError(
                'STOCK_INSUFFICIENT',
                `Only ${took.available} of ${l.sku} in stock; ${l.quantity} ordered`,
                {
                  sku: l.sku,
                  partId: l.part_id,
                  available: took.available,
                  ordered: l.quantity,
                },
              );
          }
        }
        if (action === 'cancel' && order.status === 'accepted')
          for (const l of lines) await repo.returnStock(l.part_id, l.quantity);
        await repo.move(id, next.to, extra);
        const moved = (await repo.get(id))!;
        // The repair center's own moves carry its repair order along (the supplier cannot reach it).
        if (side === 'buyer' && order.repair_order_id !== null && (next.to === 'delivered' || next.to === 'cancelled'))
          await this.resumeIfLast(q, order.repair_order_id, id, by);
        await this.announce(q, moved, order.status);
        return view(moved, lines);
      })
      .catch((err: unknown) => {
        if (isCheckViolation(err, 'partner_parts_stock_check'))
          throw apiError('STOCK_INSUFFICIENT', 'Not enough stock for this order');
        if (isCheckViolation(err, 'parts_order_status'))
          throw apiError('PARTS_ORDER_STATE_CONFLICT', 'The parts order moved meanwhile; read it again');
        throw err;
      });
  }

  /** The last open parts order of a repair order waiting for parts is in: the work goes on. */
  private async resumeIfLast(q: Queryable, repairOrderId: string, partsOrderId: string, by: string): Promise<void> {
    const order = await readOrder(q, repairOrderId, true);
    if (order?.status !== 'waiting_parts') return;
    if ((await new PartsOrdersRepository(q).openFor(repairOrderId)) > 0) return;
    await transitionRepairOrder(q, {
      repairOrderId,
      to: 'in_progress',
      actor: by,
      side: 'system',
      note: 'parts in',
      data: { partsOrderId },
    });
  }

  /** Which side the caller acts on: its tenant's, else (an administrator, or both sides one organisation) the action's. */
  private sideOf(actor: RepairWorkActor, order: PartsOrderRow, action: PartsOrderAction): PartsOrderSide {
    const tenant = actor.scope.tenantId;
    const buyer = tenant === order.tenant_id;
    const supplier = tenant === order.supplier_tenant_id;
    if (buyer !== supplier) return buyer ? 'buyer' : 'supplier';
    if (action === 'accept' || action === 'ship') return 'supplier';
    if (action === 'deliver') return 'buyer';
    return order.status === 'accepted' ? 'supplier' : 'buyer';
  }

  private async readable(actor: RepairWorkActor, order: PartsOrderRow): Promise<boolean> {
    for (const side of ['buyer', 'supplier'] as const)
      if (await mayOnShopRecord(actor.policy, 'parts-orders:read', asRecord(order, side))) return true;
    return false;
  }

  /** `parts-order.updated` on the buyer's tenant (the supplier's moves too: migration 027 lets it). */
  private async announce(q: Queryable, o: PartsOrderRow, from: string | null): Promise<void> {
    await appendEvent(q, {
      tenantId: o.tenant_id,
      topic: 'parts-order.updated',
      payload: {
        partsOrderId: o.id,
        partnerId: o.partner_id,
        supplierPartnerId: o.supplier_partner_id,
        supplierTenantId: o.supplier_tenant_id,
        repairOrderId: o.repair_order_id,
        from,
        status: o.status,
        at: toIso(o.updated_at),
      },
    });
  }
}
