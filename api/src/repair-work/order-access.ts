import type { Queryable } from '@clutch/db';
import type { Resource } from '@clutch/identity';
import type { RequestPolicy } from '../auth/policy.js';
import { apiError } from '../errors.js';
import type { RepairOrderStatus } from '../repair-orders/lifecycle.js';

/** A repair order as check-ins, estimates, parts orders, warranties and reviews read it. */
export interface OrderRow {
  id: string;
  tenant_id: string;
  partner_id: string;
  booking_id: string | null;
  customer_tenant_id: string;
  customer_user_id: string | null;
  vehicle_id: string | null;
  status: RepairOrderStatus;
}

const ORDER_COLUMNS = `id::text AS id, tenant_id, partner_id::text AS partner_id, booking_id::text AS booking_id,
  customer_tenant_id, customer_user_id::text AS customer_user_id, vehicle_id::text AS vehicle_id, status`;

/** The order as this transaction may see it (row-level security: the shop's side or the customer's). */
export async function readOrder(q: Queryable, id: string, lock = false): Promise<OrderRow | undefined> {
  const { rows } = await q.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM repair_orders WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0];
}

export const orderNotFound = (id: string): Error =>
  apiError('REPAIR_ORDER_NOT_FOUND', `No repair order ${id}`, { repairOrderId: id });

/** Which party a permission is about: the shop's work, the customer's decisions, or either's reading. */
export type Party = 'shop' | 'customer' | 'either';

/**
 * Decides a permission on a two-party record (a repair order and what hangs off it) as the policy
 * function knows it:
 * - the shop's side: a resource of the shop's tenant whose `shopId` is the shop (`ownership: shop`:
 *   an unbound grant reaches every shop of the organisation, a grant bound to a shop that shop);
 * - the customer's side: the same record as its customer holds it (`ownership: booking` covers a
 *   booking's family of records whose `ownerUserId` is the user; a fleet's staff hold their
 *   permissions on their own tenant's). Its `tenantId` is the CUSTOMER's tenant: the policy's reach
 *   test (the resource's tenant is the caller's, or shared with it) would otherwise put every
 *   customer out of reach of the shop's rows.
 * A side a permission is not about is never asked: an organisation that is both a customer and a
 * shop must not approve its own estimates with its technicians' rights, nor write another shop's
 * orders with its fleet managers'.
 */
export async function mayOnOrder(
  policy: RequestPolicy,
  permission: string,
  order: Pick<OrderRow, 'id' | 'tenant_id' | 'partner_id' | 'customer_tenant_id' | 'customer_user_id'>,
  party: Party,
  type = 'repair-order',
): Promise<boolean> {
  if (party !== 'customer') {
    const shop: Resource = { type, id: order.id, tenantId: order.tenant_id, shopId: order.partner_id };
    if ((await policy.decide(permission, shop)).allow) return true;
  }
  if (party !== 'shop') {
    const customer: Resource = {
      type,
      id: order.id,
      tenantId: order.customer_tenant_id,
      ownerUserId: order.customer_user_id,
      shopId: order.partner_id,
    };
    if ((await policy.decide(permission, customer)).allow) return true;
  }
  return false;
}

/** The order for this caller, or the 404 a missing one answers with (nothing to learn from a foreign one). */
export async function requireOnOrder(
  policy: RequestPolicy,
  permission: string,
  order: OrderRow | undefined,
  id: string,
  party: Party,
): Promise<OrderRow> {
  if (!order) throw orderNotFound(id);
  if (await mayOnOrder(policy, permission, order, party)) return order;
  // A reader of the order who lacks this permission learns it is forbidden; anyone else, nothing.
  if (await mayOnOrder(policy, 'repair-orders:read', order, 'either'))
    throw apiError('FORBIDDEN', `This needs the ${permission} permission on this repair order`, {
      requiredPermission: permission,
    });
  throw orderNotFound(id);
}

/** The order, once the caller may read it (either side); a stranger's answers like a missing one. */
export async function requireReadableOrder(q: Queryable, policy: RequestPolicy, id: string): Promise<OrderRow> {
  return requireOnOrder(policy, 'repair-orders:read', await readOrder(q, id), id, 'either');
}

/** Which side of the order the caller is on (the shop's tenant, else the customer's). */
export const callerSide = (order: Pick<OrderRow, 'tenant_id'>, tenantId: string | undefined): 'shop' | 'customer' =>
  tenantId === undefined || tenantId === order.tenant_id ? 'shop' : 'customer';

/** A permission on one shop's record (a parts order as its buyer or its supplier sees it, a review). */
export async function mayOnShopRecord(
  policy: RequestPolicy,
  permission: string,
  record: { type: string; id: string; tenantId: string; shopId: string },
): Promise<boolean> {
  return (await policy.decide(permission, record)).allow;
}
