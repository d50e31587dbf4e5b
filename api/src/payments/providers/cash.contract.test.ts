import { describe, expect, it } from 'vitest';
import { createCashProvider, type CashStore } from './cash.js';
import { providerContract, type ProviderBooks } from './provider.contract.js';
import type { ProviderRefund } from './provider.js';

/** The cash provider's books are its own: what it answered for captures and distinct refunds. */
providerContract('cash', async () => {
  const provider = createCashProvider();
  const refunds = new Map<string, ProviderRefund>();
  const wrapped: typeof provider = {
    ...provider,
    refund: async (ref, input) => {
      const refund = await provider.refund(ref, input);
      refunds.set(refund.refundRef, refund);
      return refund;
    },
  };
  return {
    provider: wrapped,
    currency: 'EGP',
    books: async (ref): Promise<ProviderBooks> => {
      const payment = await provider.retrieve(ref);
      const mine = [...refunds.values()].filter((r) => r.providerRef === ref);
      return {
        captures: payment.amountCapturedMinor > 0 ? 1 : 0,
        capturedMinor: payment.amountCapturedMinor,
        refunds: mine.length,
        refundedMinor: payment.amountRefundedMinor,
      };
    },
    close: async () => undefined,
  };
});

describe('cash provider', () => {
  it('derives the reference from the idempotency key, so a retry finds the same IOU', async () => {
    const cash = createCashProvider();
    const input = {
      idempotencyKey: 'booking-42',
      amount: { amountMinor: 50_000, currency: 'EGP' },
      capture: 'manual' as const,
      metadata: {},
    };
    const a = await cash.authorize(input);
    const b = await cash.authorize(input);
    expect(b.providerRef).toBe(a.providerRef);
    expect(a.status).toBe('authorized');
    expect(a.authorizationExpiresAt).toBeUndefined();
    await expect(createCashProvider().authorize(input)).resolves.toMatchObject({ providerRef: a.providerRef });
  });

  it('keeps IOUs in the store it is given', async () => {
    const data = new Map<string, unknown>();
    const store: CashStore = { get: async (k) => data.get(k), set: async (k, v) => void data.set(k, v) };
    const first = createCashProvider({ store });
    const held = await first.authorize({
      idempotencyKey: 'k1',
      amount: { amountMinor: 900, currency: 'SAR' },
      capture: 'manual',
      metadata: {},
    });
    // Another process with the same store (a restart) still knows the IOU.
    const second = createCashProvider({ store });
    await second.capture(held.providerRef, { idempotencyKey: 'k2', amountMinor: 800 });
    expect(await first.retrieve(held.providerRef)).toMatchObject({ status: 'captured', amountCapturedMinor: 800 });
  });

  it('refuses bad amounts and currencies without recording anything', async () => {
    const cash = createCashProvider();
    await expect(
      cash.authorize({
        idempotencyKey: 'x',
        amount: { amountMinor: -5, currency: 'EGP' },
        capture: 'manual',
        metadata: {},
      }),
    ).rejects.toMatchObject({
      code: 'PROVIDER_INVALID_REQUEST',
    });
    await expect(
      cash.authorize({
        idempotencyKey: 'y',
        amount: { amountMinor: 5, currency: 'egp' },
        capture: 'manual',
        metadata: {},
      }),
    ).rejects.toMatchObject({
      code: 'PROVIDER_INVALID_REQUEST',
    });
    // The failed key is free to be used with a good request.
    await expect(
      cash.authorize({
        idempotencyKey: 'x',
        amount: { amountMinor: 5, currency: 'EGP' },
        capture: 'manual',
        metadata: {},
      }),
    ).resolves.toMatchObject({
      status: 'authorized',
    });
  });

  it('concurrent captures with different keys take the money once', async () => {
    const cash = createCashProvider();
    const held = await cash.authorize({
      idempotencyKey: 'c',
      amount: { amountMinor: 1_000, currency: 'AED' },
      capture: 'manual',
      metadata: {},
    });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => cash.capture(held.providerRef, { idempotencyKey: `cap-${i}` })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await cash.retrieve(held.providerRef)).amountCapturedMinor).toBe(1_000);
  });
});
