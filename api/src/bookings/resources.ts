import type { Queryable } from '@clutch/db';
import { apiError } from '../errors.js';
import { allowedOnShop } from './access.js';
import { DEFAULT_BOOKING_RULES, loadRules, loadShop, type BookingRules, type ResourceKind } from './availability.js';
import type { BookingCaller } from './service.js';

/**
 * A shop's capacity (bays, lifts, technicians with skills, equipment) and its booking rules: the
 * shop's own staff manage them (`partners:write`, on the shop). Resources are never deleted once
 * booked: DELETE retires one (active = false, no new bookings) and refuses while it has upcoming
 * reservations, so the bookings that used it keep pointing at it.
 */

export interface ShopResourceView {
  id: string;
  partnerId: string;
  kind: ResourceKind;
  name: string;
  skills: string[];
  userId: string | null;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ShopResourceInput {
  kind: ResourceKind;
  name: string;
  skills?: string[] | undefined;
  userId?: string | null | undefined;
  active?: boolean | undefined;
}

interface Row {
  id: string;
  partner_id: string;
  kind: ResourceKind;
  name: string;
  skills: string[];
  user_id: string | null;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, partner_id, kind, name, skills, user_id, active, created_at, updated_at';

const toView = (r: Row): ShopResourceView => ({
  id: r.id,
  partnerId: r.partner_id,
  kind: r.kind,
  name: r.name,
  skills: r.skills,
  userId: r.user_id,
  active: r.active,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

function validate(input: ShopResourceInput): void {
  if (input.userId && input.kind !== 'technician')
    throw apiError('VALIDATION_FAILED', 'Only a technician is linked to a user account', {
      errors: [{ pointer: '/body/userId', detail: 'only for kind technician' }],
    });
}

export class ShopResourcesService {
  /** The shop, if the caller may manage it (else 404: a shop of another organisation is not theirs to see). */
  private async managedShop(
    caller: BookingCaller,
    q: Queryable,
    partnerId: string,
  ): Promise<{ id: string; tenantId: string }> {
    const shop = await loadShop(q, partnerId);
    if (!shop || !caller.scope.covers(shop.tenantId)) throw apiError('PARTNER_NOT_FOUND', undefined, { partnerId });
    if (!(await allowedOnShop(caller.policy, 'partners:write', shop)))
      throw apiError('FORBIDDEN', 'This needs the partners:write permission on this shop', {
        requiredPermission: 'partners:write',
      });
    return shop;
  }

  list(caller: BookingCaller, partnerId: string): Promise<ShopResourceView[]> {
    return caller.scope.run(async (q) => {
      await this.managedShop(caller, q, partnerId);
      const { rows } = await q.query<Row>(
        `SELECT ${COLUMNS} FROM shop_resources WHERE partner_id = $1 ORDER BY kind, name, id`,
        [partnerId],
      );
      return rows.map(toView);
    });
  }

  create(caller: BookingCaller, partnerId: string, input: ShopResourceInput): Promise<ShopResourceView> {
    validate(input);
    return caller.scope.run(async (q) => {
      const shop = await this.managedShop(caller, q, partnerId);
      await this.requireUser(q, shop.tenantId, input.userId);
      const { rows } = await q.query<Row>(
        `INSERT INTO shop_resources (tenant_id, partner_id, kind, name, skills, user_id, active)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
        [
          shop.tenantId,
          partnerId,
          input.kind,
          input.name,
          dedupe(input.skills),
          input.userId ?? null,
          input.active ?? true,
        ],
      );
      return toView(rows[0]!);
    });
  }

  update(caller: BookingCaller, partnerId: string, id: string, input: ShopResourceInput): Promise<ShopResourceView> {
    validate(input);
    return caller.scope.run(async (q) => {
      const shop = await this.managedShop(caller, q, partnerId);
      await this.requireUser(q, shop.tenantId, input.userId);
      const current = await q.query<{ kind: string }>(
        'SELECT kind FROM shop_resources WHERE id = $1 AND partner_id = $2 FOR UPDATE',
        [id, partnerId],
      );
      if (!current.rows[0]) throw apiError('SHOP_RESOURCE_NOT_FOUND', undefined, { resourceId: id });
      // Reservations copy the kind: a bay does not become a technician under its bookings.
      if (current.rows[0].kind !== input.kind)
        throw apiError('VALIDATION_FAILED', 'A resource keeps its kind; add a new one instead', {
          errors: [{ pointer: '/body/kind', detail: `is ${current.rows[0].kind}` }],
        });
      const { rows } = await q.query<Row>(
        `UPDATE shop_resources SET name = $3, skills = $4, user_id = $5, active = $6, updated_at = now()
          WHERE id = $1 AND partner_id = $2 RETURNING ${COLUMNS}`,
        [id, partnerId, input.name, dedupe(input.skills), input.userId ?? null, input.active ?? true],
      );
      return toView(rows[0]!);
    });
  }

  /** Retires a resource; refused while it has upcoming reservations (move or cancel those first). */
  retire(caller: BookingCaller, partnerId: string, id: string): Promise<void> {
    return caller.scope.run(async (q) => {
      await this.managedShop(caller, q, partnerId);
      const found = await q.query<{ id: string }>(
        'SELECT id FROM shop_resources WHERE id = $1 AND partner_id = $2 FOR UPDATE',
        [id, partnerId],
      );
      if (!found.rows[0]) throw apiError('SHOP_RESOURCE_NOT_FOUND', undefined, { resourceId: id });
      const upcoming = await q.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM shop_busy($1, now(), 'infinity') WHERE resource_id = $2`,
        [partnerId, id],
      );
      if (upcoming.rows[0]!.n > 0)
        throw apiError('SHOP_RESOURCE_IN_USE', `The resource has ${upcoming.rows[0]!.n} upcoming reservations`, {
          reservations: upcoming.rows[0]!.n,
        });
      await q.query(`UPDATE shop_resources SET active = false, updated_at = now() WHERE id = $1`, [id]);
    });
  }

  rules(caller: BookingCaller, partnerId: string): Promise<BookingRules> {
    return caller.scope.run(async (q) => {
      const shop = await loadShop(q, partnerId);
      if (!shop) throw apiError('PARTNER_NOT_FOUND', undefined, { partnerId });
      return loadRules(q, partnerId);
    });
  }

  setRules(caller: BookingCaller, partnerId: string, input: Partial<BookingRules>): Promise<BookingRules> {
    return caller.scope.run(async (q) => {
      const shop = await this.managedShop(caller, q, partnerId);
      const r = { ...DEFAULT_BOOKING_RULES, ...(await loadRules(q, partnerId)), ...input };
      await q.query(
        `INSERT INTO shop_booking_rules (tenant_id, partner_id, slot_step_minutes, min_lead_minutes, hold_minutes,
           free_cancellation_hours, cancellation_fee_minor, reschedule_notice_hours, no_show_grace_minutes, no_show_fee_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (partner_id) DO UPDATE SET slot_step_minutes = EXCLUDED.slot_step_minutes,
           min_lead_minutes = EXCLUDED.min_lead_minutes, hold_minutes = EXCLUDED.hold_minutes,
           free_cancellation_hours = EXCLUDED.free_cancellation_hours, cancellation_fee_minor = EXCLUDED.cancellation_fee_minor,
           reschedule_notice_hours = EXCLUDED.reschedule_notice_hours, no_show_grace_minutes = EXCLUDED.no_show_grace_minutes,
           no_show_fee_minor = EXCLUDED.no_show_fee_minor, updated_at = now()`,
        [
          shop.tenantId,
          partnerId,
          r.slotStepMinutes,
          r.minLeadMinutes,
          r.holdMinutes,
          r.freeCancellationHours,
          r.cancellationFeeMinor,
          r.rescheduleNoticeHours,
          r.noShowGraceMinutes,
          r.noShowFeeMinor,
        ],
      );
      return loadRules(q, partnerId);
    });
  }

  private async requireUser(q: Queryable, tenantId: string, userId: string | null | undefined): Promise<void> {
    if (!userId) return;
    const { rows } = await q.query('SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2', [userId, tenantId]);
    if (rows.length === 0) throw apiError('USER_NOT_FOUND', 'No such user in the shop’s organisation', { userId });
  }
}

const dedupe = (skills: readonly string[] | undefined): string[] => [...new Set(skills ?? [])];
