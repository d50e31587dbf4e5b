import type { Database } from '@clutch/db';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestShop, type TestShop } from '../bookings/test-shop.js';
import { backends } from '../test-fixtures.js';
import { RepairOrdersRepository } from './repository.js';
import {
  isTransitionRefusedByDatabase,
  nextStatuses,
  REPAIR_ORDER_STATUSES,
  refusal,
  TERMINAL_STATUSES,
  TRANSITION_ROUTES,
  transitionOf,
  transitionRepairOrder,
  TRANSITIONS,
  type RepairOrderStatus,
  type TransitionSide,
} from './lifecycle.js';

const SIDES: readonly TransitionSide[] = ['shop', 'customer', 'system'];

describe('the repair-order lifecycle (pure)', () => {
  it('reaches every state from requested, and ends only in closed, cancelled or no_show', () => {
    const seen = new Set<RepairOrderStatus>(['requested']);
    const queue: RepairOrderStatus[] = ['requested'];
    while (queue.length > 0)
      for (const to of nextStatuses(queue.shift()!))
        if (!seen.has(to)) {
          seen.add(to);
          queue.push(to);
        }
    expect([...seen].sort()).toEqual([...REPAIR_ORDER_STATUSES].sort());
    expect([...TERMINAL_STATUSES].sort()).toEqual(['cancelled', 'closed', 'no_show']);
  });

  it('follows the issue: the main path, the waiting loops, the supplemental estimate and the exits', () => {
    const path: RepairOrderStatus[] = [
      'requested',
      'confirmed',
      'checked_in',
      'diagnosis',
      'estimate_sent',
      'approved',
      'in_progress',
      'quality_check',
      'ready_for_pickup',
      'delivered',
      'closed',
    ];
    for (let i = 1; i < path.length; i++)
      expect(transitionOf(path[i - 1]!, path[i]!), `${path[i - 1]} -> ${path[i]}`).toBeDefined();
    for (const w of ['waiting_parts', 'waiting_customer', 'sublet'] as const) {
      expect(transitionOf('in_progress', w)).toBeDefined();
      expect(transitionOf(w, 'in_progress')).toBeDefined();
      expect(transitionOf(w, 'estimate_sent')).toBeDefined();
    }
    expect(transitionOf('in_progress', 'estimate_sent')).toBeDefined();
    expect(refusal('declined', 'in_progress', 'shop', { workApproved: false })).toMatch(
      /only after some work was approved/,
    );
    expect(refusal('declined', 'in_progress', 'shop', { workApproved: true })).toBeUndefined();
    // Skipping a state, or the wrong side, is refused.
    expect(refusal('requested', 'in_progress', 'shop', { workApproved: false })).toMatch(/cannot move/);
    expect(refusal('estimate_sent', 'approved', 'shop', { workApproved: false })).toMatch(/The shop cannot/);
    expect(refusal('requested', 'confirmed', 'customer', { workApproved: false })).toMatch(/The customer cannot/);
    for (const to of Object.keys(TRANSITION_ROUTES)) expect(REPAIR_ORDER_STATUSES).toContain(to);
  });
});

describe.each(backends('api_repair_order_lifecycle'))(
  'the repair-order lifecycle in the database on %s',
  (_name, open) => {
    let db: Database;
    let shop: TestShop;

    beforeAll(async () => {
      db = await open!({});
      shop = await createTestShop(db, { tenantId: 'lifecycle-shop' });
    });
    afterAll(async () => {
      await db?.close();
    });

    /** A booking request's repair order, written as the platform. */
    const newOrder = async (): Promise<string> => {
      const { rows } = await db.query<{ id: string }>(
        `WITH b AS (
         INSERT INTO bookings (tenant_id, partner_id, customer_tenant_id, service_code, service_name, status, starts_at, ends_at, currency, created_by)
         VALUES ($1, $2, 'consumers', 'oil_change', 'Oil change', 'requested', now() + interval '1 day', now() + interval '25 hours', 'EUR', 'test')
         RETURNING id)
       INSERT INTO repair_orders (tenant_id, partner_id, booking_id, customer_tenant_id, status)
       SELECT $1, $2, b.id, 'consumers', 'requested' FROM b RETURNING id`,
        [shop.tenantId, shop.partnerId],
      );
      return rows[0]!.id;
    };
    const statusOf = async (id: string): Promise<RepairOrderStatus> =>
      (await db.query<{ status: RepairOrderStatus }>('SELECT status FROM repair_orders WHERE id = $1', [id])).rows[0]!
        .status;

    it('holds the same table of transitions as lifecycle.ts', async () => {
      const { rows } = await db.query<{
        from_status: string;
        to_status: string;
        sides: string[];
        guard: string | null;
      }>('SELECT from_status, to_status, sides, guard FROM repair_order_transitions');
      const fromDb = rows
        .map((r) => `${r.from_status}>${r.to_status}:${[...r.sides].sort().join(',')}:${r.guard ?? ''}`)
        .sort();
      const fromCode = TRANSITIONS.map(
        (t) => `${t.from}>${t.to}:${[...t.sides].sort().join(',')}:${t.guard ?? ''}`,
      ).sort();
      expect(fromDb).toEqual(fromCode);
    });

    it('walks the whole way with its waiting loops, and keeps the timeline in order', async () => {
      const id = await newOrder();
      const walk: [RepairOrderStatus, TransitionSide][] = [
        ['confirmed', 'shop'],
        ['checked_in', 'shop'],
        ['diagnosis', 'shop'],
        ['estimate_sent', 'shop'],
        ['approved', 'customer'],
        ['in_progress', 'shop'],
        ['waiting_parts', 'system'],
        ['in_progress', 'system'],
        ['estimate_sent', 'shop'],
        ['declined', 'customer'],
        ['in_progress', 'system'],
        ['waiting_customer', 'shop'],
        ['in_progress', 'shop'],
        ['quality_check', 'shop'],
        ['ready_for_pickup', 'shop'],
        ['delivered', 'shop'],
        ['closed', 'system'],
      ];
      for (const [to, side] of walk)
        await db.transaction((q) => transitionRepairOrder(q, { repairOrderId: id, to, actor: 'test', side }));
      const timeline = await new RepairOrdersRepository(db).events(id);
      expect(timeline.map((e) => [e.fromStatus, e.toStatus, e.side])).toEqual(
        walk.map(([to, side], i) => [i === 0 ? 'requested' : walk[i - 1]![0], to, side]),
      );
      await expect(
        db.transaction((q) =>
          transitionRepairOrder(q, { repairOrderId: id, to: 'in_progress', actor: 'test', side: 'shop' }),
        ),
      ).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    });

    it('refuses a new order in any state but requested', async () => {
      await expect(
        db.query(
          `INSERT INTO repair_orders (tenant_id, partner_id, customer_tenant_id, status) VALUES ($1, $2, 'consumers', 'in_progress')`,
          [shop.tenantId, shop.partnerId],
        ),
      ).rejects.toSatisfy(isTransitionRefusedByDatabase);
    });

    it('never reaches an invalid state on a random walk, and the database refuses every move the table does not allow', async () => {
      const step = fc.record({
        to: fc.constantFrom(...REPAIR_ORDER_STATUSES),
        side: fc.constantFrom(...SIDES),
        // Half of the steps bypass the service and update the row directly, as a buggy caller would.
        bypass: fc.boolean(),
        // Biases the walk along allowed moves, so it gets deep into the lifecycle.
        follow: fc.nat({ max: 9 }),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
          const id = await newOrder();
          let state: RepairOrderStatus = 'requested';
          let workApproved = false;
          let moves = 0;
          const path: RepairOrderStatus[] = ['requested'];
          for (const s of steps) {
            const allowed = nextStatuses(state, s.side);
            const to = s.follow < 6 && allowed.length > 0 ? allowed[s.follow % allowed.length]! : s.to;
            if (s.bypass) {
              const tr = transitionOf(state, to);
              const dbAllows = to === state || (tr !== undefined && (tr.guard !== 'work_approved' || workApproved));
              const attempt = db.query('UPDATE repair_orders SET status = $2 WHERE id = $1', [id, to]);
              if (dbAllows) {
                await attempt;
                if (to !== state) {
                  state = to;
                  if (to === 'approved') workApproved = true;
                }
              } else {
                await expect(attempt).rejects.toSatisfy(isTransitionRefusedByDatabase);
              }
            } else {
              const why = refusal(state, to, s.side, { workApproved });
              const attempt = db.transaction((q) =>
                transitionRepairOrder(q, { repairOrderId: id, to, actor: 'test', side: s.side }),
              );
              if (why === undefined) {
                expect(await attempt).toMatchObject({ from: state, to });
                state = to;
                moves++;
                path.push(to);
                if (to === 'approved') workApproved = true;
              } else {
                await expect(attempt).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
              }
            }
            expect(await statusOf(id)).toBe(state);
          }
          // Every move through the service left one timeline event, in order, and one outbox event.
          const timeline = await new RepairOrdersRepository(db).events(id);
          expect(timeline.map((e) => e.toStatus)).toEqual(path.slice(1));
          const outbox = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM outbox_events WHERE topic = 'repair-order.status-changed' AND payload ->> 'repairOrderId' = $1`,
            [id],
          );
          expect(outbox.rows[0]!.n).toBe(moves);
        }),
        { numRuns: 40 },
      );
    });
  },
);
