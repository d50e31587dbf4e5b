import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, type PaymentProvider, type ProviderErrorCode, type ProviderPayment } from './provider.js';

/** What the provider's own books show for one payment: how many captures and refunds moved money, and how much. */
export interface ProviderBooks {
  captures: number;
  capturedMinor: number;
  refunds: number;
  refundedMinor: number;
}

/**
 * Everything the contract needs besides the adapter: what the payer does outside our server, the
 * provider's books (read from the local server, not through the adapter), and fault injection.
 */
export interface ContractHarness {
  provider: PaymentProvider;
  currency: string;
  /** A payment method that succeeds; absent: the payer approves at the provider instead (`approve`). */
  paymentMethod?: string | undefined;
  /** The payer approves a payment in `requires_action` (PayPal buyer approval). */
  approve?: ((payment: ProviderPayment) => Promise<void>) | undefined;
  books(providerRef: string): Promise<ProviderBooks>;
  /** Attempts a payment the provider declines; absent when the provider cannot decline (cash). */
  attemptDeclined?: ((idempotencyKey: string) => Promise<unknown>) | undefined;
  /** The provider answers 5xx to the next calls (through any SDK retries); absent for local providers. */
  failWith5xx?: (() => void) | undefined;
  /** Signed webhooks; absent for providers without webhooks (cash). */
  webhooks?:
    | {
        /** Points the provider's deliveries at `url` and delivers everything pending. */
        deliverTo(url: string): Promise<void>;
        /** Headers signing `body` as the provider would, but with a wrong secret or an old timestamp. */
        signBadly(body: Buffer, how: { wrongSecret?: boolean; at?: Date }): Promise<Record<string, string>>;
      }
    | undefined;
  close(): Promise<void>;
}

let keySeq = 0;
const key = (what: string): string => `contract-${what}-${process.pid}-${Date.now()}-${++keySeq}`;

async function rejectsWith(promise: Promise<unknown>, code: ProviderErrorCode): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).code).toBe(code);
  return err as ProviderError;
}

/**
 * The one suite every payment provider adapter passes, against the provider's local wire-format
 * server. `make` starts a fresh one per file.
 */
export function providerContract(name: string, make: () => Promise<ContractHarness>): void {
  describe(`payment provider contract: ${name}`, () => {
    let h: ContractHarness;
    beforeAll(async () => {
      h = await make();
    });
    afterAll(async () => {
      await h?.close();
    });

    /** Authorises like the platform does: confirm at once with a payment method, or let the payer approve. */
    async function hold(amountMinor: number, capture: 'manual' | 'automatic' = 'manual'): Promise<ProviderPayment> {
      const idempotencyKey = key('hold');
      let payment = await h.provider.authorize({
        idempotencyKey,
        amount: { amountMinor, currency: h.currency },
        capture,
        paymentMethod: h.paymentMethod,
        confirm: h.paymentMethod !== undefined,
        metadata: { paymentId: idempotencyKey },
      });
      if (payment.status === 'requires_action') {
        expect(h.approve, 'a payment waiting for the payer needs the harness to approve it').toBeDefined();
        await h.approve?.(payment);
        payment = await h.provider.confirm(payment.providerRef, {
          idempotencyKey: `${idempotencyKey}:confirm`,
          paymentMethod: h.paymentMethod ?? '',
        });
      }
      return payment;
    }

    it('holds, then captures all of it', async () => {
      const held = await hold(12_345);
      expect(held).toMatchObject({
        provider: h.provider.name,
        status: 'authorized',
        currency: h.currency,
        amountAuthorizedMinor: 12_345,
        amountCapturedMinor: 0,
      });
      const captured = await h.provider.capture(held.providerRef, { idempotencyKey: key('capture') });
      expect(captured).toMatchObject({ status: 'captured', amountCapturedMinor: 12_345, amountRefundedMinor: 0 });
      expect(await h.books(held.providerRef)).toEqual({
        captures: 1,
        capturedMinor: 12_345,
        refunds: 0,
        refundedMinor: 0,
      });
    });

    it('captures part of a hold and releases the rest', async () => {
      const held = await hold(10_000);
      const captured = await h.provider.capture(held.providerRef, {
        idempotencyKey: key('capture'),
        amountMinor: 6_000,
      });
      expect(captured).toMatchObject({ status: 'captured', amountAuthorizedMinor: 10_000, amountCapturedMinor: 6_000 });
      // The released rest cannot be captured afterwards.
      await rejectsWith(
        h.provider.capture(held.providerRef, { idempotencyKey: key('capture'), amountMinor: 1_000 }),
        'PROVIDER_INVALID_REQUEST',
      );
      expect((await h.books(held.providerRef)).capturedMinor).toBe(6_000);
    });

    it('refuses to capture more than was held', async () => {
      const held = await hold(5_000);
      await rejectsWith(
        h.provider.capture(held.providerRef, { idempotencyKey: key('capture'), amountMinor: 5_001 }),
        'PROVIDER_INVALID_REQUEST',
      );
      expect((await h.provider.retrieve(held.providerRef)).status).toBe('authorized');
    });

    it('cancels a hold: nothing is taken and it cannot be captured after', async () => {
      const held = await hold(7_000);
      const cancelled = await h.provider.cancel(held.providerRef, { idempotencyKey: key('cancel') });
      expect(cancelled).toMatchObject({ status: 'cancelled', amountCapturedMinor: 0 });
      await rejectsWith(
        h.provider.capture(held.providerRef, { idempotencyKey: key('capture') }),
        'PROVIDER_INVALID_REQUEST',
      );
      expect(await h.books(held.providerRef)).toEqual({ captures: 0, capturedMinor: 0, refunds: 0, refundedMinor: 0 });
    });

    it('refunds in parts, refuses more than is left, then refunds the rest', async () => {
      const held = await hold(9_000);
      await h.provider.capture(held.providerRef, { idempotencyKey: key('capture'), amountMinor: 6_000 });
      const first = await h.provider.refund(held.providerRef, {
        idempotencyKey: key('refund'),
        amountMinor: 2_000,
        reason: 'requested_by_customer',
      });
      expect(first).toMatchObject({
        providerRef: held.providerRef,
        status: 'succeeded',
        amountMinor: 2_000,
        currency: h.currency,
      });
      await rejectsWith(
        h.provider.refund(held.providerRef, { idempotencyKey: key('refund'), amountMinor: 4_001 }),
        'PROVIDER_INVALID_REQUEST',
      );
      const rest = await h.provider.refund(held.providerRef, { idempotencyKey: key('refund') });
      expect(rest.amountMinor).toBe(4_000);
      expect(rest.refundRef).not.toBe(first.refundRef);
      await rejectsWith(
        h.provider.refund(held.providerRef, { idempotencyKey: key('refund'), amountMinor: 1 }),
        'PROVIDER_INVALID_REQUEST',
      );
      expect(await h.books(held.providerRef)).toEqual({
        captures: 1,
        capturedMinor: 6_000,
        refunds: 2,
        refundedMinor: 6_000,
      });
    });

    it('charges at once with automatic capture and refunds all of it', async () => {
      const paid = await hold(4_200, 'automatic');
      expect(paid).toMatchObject({ status: 'captured', amountCapturedMinor: 4_200 });
      const refund = await h.provider.refund(paid.providerRef, { idempotencyKey: key('refund') });
      expect(refund.amountMinor).toBe(4_200);
      expect(await h.provider.retrieve(paid.providerRef)).toMatchObject({
        status: 'captured',
        amountCapturedMinor: 4_200,
        amountRefundedMinor: 4_200,
      });
    });

    it('retrieve agrees with what each call answered', async () => {
      const held = await hold(8_800);
      const seen = await h.provider.retrieve(held.providerRef);
      expect(seen).toMatchObject({ status: 'authorized', amountAuthorizedMinor: 8_800, amountCapturedMinor: 0 });
      const captured = await h.provider.capture(held.providerRef, {
        idempotencyKey: key('capture'),
        amountMinor: 8_000,
      });
      await h.provider.refund(held.providerRef, { idempotencyKey: key('refund'), amountMinor: 500 });
      const after = await h.provider.retrieve(held.providerRef);
      expect(after).toMatchObject({
        providerRef: held.providerRef,
        status: 'captured',
        currency: h.currency,
        amountCapturedMinor: captured.amountCapturedMinor,
        amountRefundedMinor: 500,
      });
      await rejectsWith(h.provider.retrieve(`${held.providerRef}x`), 'PROVIDER_INVALID_REQUEST');
    });

    it('the same idempotency key twice moves money once', async () => {
      const held = await hold(3_000);
      const captureKey = key('capture');
      const a = await h.provider.capture(held.providerRef, { idempotencyKey: captureKey, amountMinor: 2_500 });
      const b = await h.provider.capture(held.providerRef, { idempotencyKey: captureKey, amountMinor: 2_500 });
      expect(b).toMatchObject({ status: 'captured', amountCapturedMinor: a.amountCapturedMinor });
      const refundKey = key('refund');
      const r1 = await h.provider.refund(held.providerRef, { idempotencyKey: refundKey, amountMinor: 1_000 });
      const r2 = await h.provider.refund(held.providerRef, { idempotencyKey: refundKey, amountMinor: 1_000 });
      expect(r2.refundRef).toBe(r1.refundRef);
      expect(await h.books(held.providerRef)).toEqual({
        captures: 1,
        capturedMinor: 2_500,
        refunds: 1,
        refundedMinor: 1_000,
      });
    });

    it('the same idempotency key with different parameters is refused', async () => {
      const held = await hold(3_000);
      const refundKey = key('refund');
      await h.provider.capture(held.providerRef, { idempotencyKey: key('capture') });
      await h.provider.refund(held.providerRef, { idempotencyKey: refundKey, amountMinor: 100 });
      await rejectsWith(
        h.provider.refund(held.providerRef, { idempotencyKey: refundKey, amountMinor: 200 }),
        'PROVIDER_IDEMPOTENCY_CONFLICT',
      );
      expect((await h.books(held.providerRef)).refundedMinor).toBe(100);
    });

    it('a declined payment is PROVIDER_DECLINED', async (ctx) => {
      if (!h.attemptDeclined) return ctx.skip();
      const err = await rejectsWith(h.attemptDeclined(key('declined')), 'PROVIDER_DECLINED');
      expect(err.providerCode).toBeTruthy();
    });

    it('a provider answering 5xx is PROVIDER_UNAVAILABLE', async (ctx) => {
      if (!h.failWith5xx) return ctx.skip();
      h.failWith5xx();
      await rejectsWith(
        h.provider.authorize({
          idempotencyKey: key('unavailable'),
          amount: { amountMinor: 1_000, currency: h.currency },
          capture: 'manual',
          paymentMethod: h.paymentMethod,
          confirm: h.paymentMethod !== undefined,
          metadata: {},
        }),
        'PROVIDER_UNAVAILABLE',
      );
    });

    describe('webhooks', () => {
      it('a provider without webhooks says so', async () => {
        if (h.webhooks) return;
        await rejectsWith(h.provider.parseWebhook(Buffer.from('{}'), {}), 'WEBHOOK_UNSUPPORTED');
      });

      it('a delivered event parses; a tampered body, a wrong secret or a stale timestamp does not', async (ctx) => {
        if (!h.webhooks) return ctx.skip();
        const received: { body: Buffer; headers: IncomingHttpHeaders }[] = [];
        const server = createServer((req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            received.push({ body: Buffer.concat(chunks), headers: req.headers });
            res.writeHead(200).end();
          });
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        try {
          const held = await hold(2_000);
          await h.provider.capture(held.providerRef, { idempotencyKey: key('capture') });
          await h.webhooks.deliverTo(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
          const events = [];
          for (const r of received) events.push(await h.provider.parseWebhook(r.body, r.headers));
          const about = events.filter((e) => e.providerRef === held.providerRef);
          expect(about.map((e) => e.type)).toContain('payment.captured');
          const captured = about.find((e) => e.type === 'payment.captured');
          expect(captured).toMatchObject({ provider: h.provider.name, amountMinor: 2_000, currency: h.currency });
          expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

          const sample = received.find((r) => r.body.includes(held.providerRef)) ?? received[0];
          if (!sample) throw new Error('no webhook was delivered');
          const ref = held.providerRef;
          const tampered = Buffer.from(
            sample.body.toString('utf8').replace(ref, `${ref.slice(0, -1)}${ref.endsWith('X') ? 'Y' : 'X'}`),
          );
          expect(tampered.equals(sample.body)).toBe(false);
          await rejectsWith(h.provider.parseWebhook(tampered, sample.headers), 'WEBHOOK_SIGNATURE_INVALID');
          await rejectsWith(
            h.provider.parseWebhook(sample.body, await h.webhooks.signBadly(sample.body, { wrongSecret: true })),
            'WEBHOOK_SIGNATURE_INVALID',
          );
          await rejectsWith(
            h.provider.parseWebhook(
              sample.body,
              await h.webhooks.signBadly(sample.body, { at: new Date(Date.now() - 10 * 60_000) }),
            ),
            'WEBHOOK_SIGNATURE_INVALID',
          );
          await rejectsWith(h.provider.parseWebhook(sample.body, {}), 'WEBHOOK_SIGNATURE_INVALID');
        } finally {
          server.closeAllConnections();
          await new Promise<void>((r) => server.close(() => r()));
        }
      });
    });
  });
}
