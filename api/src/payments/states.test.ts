import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@clutch/db';
import { backends } from '../test-fixtures.js';
import { canMove, nextState, nextStates, PAYMENT_STATUSES, PAYMENT_TRANSITIONS, type PaymentState } from './states.js';
import type { ProviderPayment } from './providers/provider.js';

const provider = (p: Partial<ProviderPayment>): ProviderPayment => ({
  provider: 'stripe',
  providerRef: 'pi_1',
  status: 'authorized',
  currency: 'EUR',
  amountAuthorizedMinor: 1000,
  amountCapturedMinor: 0,
  amountRefundedMinor: 0,
  ...p,
});
const state = (p: Partial<PaymentState>): PaymentState => ({
  status: 'pending',
  amountMinor: 1000,
  capturedMinor: 0,
  refundedMinor: 0,
  authorizationExpiresAt: null,
  failureCode: null,
  ...p,
});

describe('the payment state machine', () => {
  it('moves forward with the provider and ignores an older view', () => {
    expect(nextState(state({}), provider({}))?.status).toBe('authorized');
    const captured = state({ status: 'captured', capturedMinor: 600 });
    // A late `authorized` webhook after the capture changes nothing.
    expect(nextState(captured, provider({ status: 'authorized' }))).toBeNull();
    expect(nextState(captured, provider({ status: 'captured', amountCapturedMinor: 600 }))).toBeNull();
    expect(
      nextState(captured, provider({ status: 'captured', amountCapturedMinor: 600, amountRefundedMinor: 100 })),
    ).toMatchObject({ status: 'partially_refunded', refundedMinor: 100 });
    const part = state({ status: 'partially_refunded', capturedMinor: 600, refundedMinor: 300 });
    // An older refund total (an earlier webhook arriving late) is not a move.
    expect(
      nextState(part, provider({ status: 'captured', amountCapturedMinor: 600, amountRefundedMinor: 100 })),
    ).toBeNull();
    expect(
      nextState(part, provider({ status: 'captured', amountCapturedMinor: 600, amountRefundedMinor: 600 })),
    ).toMatchObject({ status: 'refunded', refundedMinor: 600 });
    expect(nextState(state({ status: 'cancelled' }), provider({ status: 'authorized' }))).toBeNull();
    expect(canMove('refunded', 'captured')).toBe(false);
  });

  it('takes a capture and a refund the provider made before we applied either through captured', () => {
    const view = provider({ status: 'captured', amountCapturedMinor: 800, amountRefundedMinor: 300 });
    for (const status of ['pending', 'requires_action', 'authorized'] as const)
      expect(nextStates(state({ status }), view)).toMatchObject([
        { status: 'captured', capturedMinor: 800, refundedMinor: 0 },
        { status: 'partially_refunded', capturedMinor: 800, refundedMinor: 300 },
      ]);
    expect(
      nextStates(state({ status: 'authorized' }), { ...view, amountRefundedMinor: 800 }).map((s) => s.status),
    ).toEqual(['captured', 'refunded']);
    // Once captured it is one move again; a voided or failed payment stays where it is.
    expect(nextStates(state({ status: 'captured', capturedMinor: 800 }), view)).toHaveLength(1);
    expect(nextStates(state({ status: 'cancelled' }), view)).toEqual([]);
    expect(nextStates(state({ status: 'failed' }), view)).toEqual([]);
    expect(nextStates(state({ status: 'authorized' }), provider({}))).toEqual([]);
  });
});

describe.each(backends('api_payment_states'))('payment transitions in the database on %s', (_name, open) => {
  let db: Database;
  beforeAll(async () => {
    db = await open!();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('holds the same table as states.ts, and its trigger refuses any other move', async () => {
    const { rows } = await db.query<{ from_status: string; to_status: string }>(
      'SELECT from_status, to_status FROM payment_transitions ORDER BY 1, 2',
    );
    const ours = [...PAYMENT_TRANSITIONS].map(([f, t]) => ({ from_status: f, to_status: t }));
    const order = (a: { from_status: string; to_status: string }, b: typeof a) =>
      a.from_status.localeCompare(b.from_status) || a.to_status.localeCompare(b.to_status);
    expect(rows.sort(order)).toEqual(ours.sort(order));
    for (const [from] of PAYMENT_TRANSITIONS) expect(PAYMENT_STATUSES).toContain(from);

    await db.query(
      `INSERT INTO tenants (id, name, kind) VALUES ('states-shop', 'states-shop', 'partner') ON CONFLICT DO NOTHING`,
    );
    const { rows: created } = await db.query<{ id: string; version: number }>(
      `INSERT INTO payments (tenant_id, customer_tenant_id, purpose, provider, amount_minor, currency, created_by)
       VALUES ('states-shop', 'consumers', 'booking', 'stripe', 1000, 'EUR', 'test') RETURNING id, version`,
    );
    const id = created[0]!.id;
    await expect(db.query(`UPDATE payments SET status = 'refunded' WHERE id = $1`, [id])).rejects.toThrow(
      /cannot move/,
    );
    await db.query(`UPDATE payments SET status = 'authorized', provider_ref = 'pi_states' WHERE id = $1`, [id]);
    const { rows: after } = await db.query<{ version: number }>('SELECT version FROM payments WHERE id = $1', [id]);
    expect(after[0]!.version).toBe(created[0]!.version + 1);
    await db.query(`UPDATE payments SET status = 'captured', captured_minor = 700 WHERE id = $1`, [id]);
    await expect(db.query(`UPDATE payments SET captured_minor = 500 WHERE id = $1`, [id])).rejects.toThrow(/take back/);
    await expect(db.query(`UPDATE payments SET refunded_minor = 800 WHERE id = $1`, [id])).rejects.toThrow();
  });
});
