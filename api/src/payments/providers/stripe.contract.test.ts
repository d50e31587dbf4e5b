import { startStripeEmulator, type StripeEmulator } from '@clutch/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerContract } from './provider.contract.js';
import { ProviderError } from './provider.js';
import { createStripeProvider } from './stripe.js';

providerContract('stripe', async () => {
  const emulator = await startStripeEmulator({ webhookMode: 'manual' });
  const provider = createStripeProvider({
    secretKey: emulator.secretKey,
    webhookSecret: emulator.webhookSecret,
    apiBase: emulator.url,
    maxNetworkRetries: 1,
  });
  return {
    provider,
    currency: 'USD',
    paymentMethod: 'pm_card_visa',
    books: async (ref) => {
      const books = emulator.paymentBooks(ref);
      return { ...books, refunds: books.refunds.length };
    },
    attemptDeclined: (idempotencyKey) =>
      provider.authorize({
        idempotencyKey,
        amount: { amountMinor: 1_000, currency: 'USD' },
        capture: 'manual',
        paymentMethod: 'pm_card_chargeDeclined',
        confirm: true,
        metadata: {},
      }),
    failWith5xx: () => emulator.failNext('/v1/payment_intents', 503, undefined, 2),
    webhooks: {
      async deliverTo(url) {
        emulator.setWebhookUrl(url);
        await emulator.deliverWebhooks();
      },
      async signBadly(body, how) {
        const signature = emulator.signPayload(body.toString('utf8'), {
          ...(how.wrongSecret ? { secret: 'whsec_not_the_right_one' } : {}),
          ...(how.at ? { timestamp: Math.floor(how.at.getTime() / 1000) } : {}),
        });
        return { 'stripe-signature': signature };
      },
    },
    close: () => emulator.close(),
  };
});

describe('stripe adapter: Connect, balance, retries, expiry', () => {
  let emulator: StripeEmulator;
  let stripe: ReturnType<typeof createStripeProvider>;
  let seq = 0;
  const key = (what: string): string => `stripe-only-${what}-${Date.now()}-${++seq}`;
  const hold = (amountMinor: number, extra: Partial<Parameters<typeof stripe.authorize>[0]> = {}) =>
    stripe.authorize({
      idempotencyKey: key('hold'),
      amount: { amountMinor, currency: 'EUR' },
      capture: 'manual',
      paymentMethod: 'pm_card_visa',
      confirm: true,
      metadata: { bookingId: 'b-1' },
      ...extra,
    });

  beforeAll(async () => {
    emulator = await startStripeEmulator({ webhookMode: 'manual' });
    stripe = createStripeProvider({
      secretKey: emulator.secretKey,
      webhookSecret: emulator.webhookSecret,
      apiBase: emulator.url,
      maxNetworkRetries: 1,
      pageSize: 2,
    });
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('a destination charge keeps the application fee and passes the rest to the connected account', async () => {
    const { account } = await stripe.createConnectedAccount({
      idempotencyKey: key('acct'),
      email: 'shop@example.test',
      country: 'DE',
      metadata: { partnerId: 'p-1' },
    });
    expect(account).toMatch(/^acct_/);
    const held = await hold(10_000, { destination: { account, applicationFeeMinor: 1_000 } });
    // Capture less than was held, with the commission on what was captured.
    await stripe.capture(held.providerRef, {
      idempotencyKey: key('capture'),
      amountMinor: 8_000,
      applicationFeeMinor: 800,
    });
    expect(emulator.balance('eur', account)).toBe(7_200);
    const pi = emulator.paymentIntents().find((p) => p.id === held.providerRef);
    expect(pi).toMatchObject({
      application_fee_amount: 800,
      transfer_data: { destination: account },
      amount_received: 8_000,
    });
  });

  it('a refund of a destination charge reverses the transfer and refunds the fee in proportion when asked', async () => {
    const { account } = await stripe.createConnectedAccount({
      idempotencyKey: key('acct'),
      country: 'DE',
      metadata: { partnerId: 'p-2' },
    });
    const held = await hold(10_000, { destination: { account, applicationFeeMinor: 1_000 } });
    await stripe.capture(held.providerRef, {
      idempotencyKey: key('capture'),
      amountMinor: 9_000,
      applicationFeeMinor: 901,
    });
    expect(emulator.balance('eur', account)).toBe(8_099);
    const platform = emulator.balance('eur');
    const flags = { reverseTransfer: true, refundApplicationFee: true };
    // A third: the shop gives back 3,000 less a third of the fee (300, rounded down), the platform 300.
    const first = await stripe.refund(held.providerRef, {
      idempotencyKey: key('refund'),
      amountMinor: 3_000,
      ...flags,
    });
    expect(first).toMatchObject({ status: 'succeeded', amountMinor: 3_000 });
    expect(emulator.balance('eur', account)).toBe(8_099 - 3_000 + 300);
    expect(emulator.balance('eur') - platform).toBe(-300);
    // The rest: everything of the transfer and the fee comes back; the shop's account is where it started.
    await stripe.refund(held.providerRef, { idempotencyKey: key('refund'), ...flags });
    expect(emulator.balance('eur', account)).toBe(0);
    expect(emulator.balance('eur') - platform).toBe(-901);
    expect(emulator.transfers().find((t) => t.destination === account)).toMatchObject({
      amount: 9_000,
      amount_reversed: 9_000,
      reversed: true,
    });
    // Without the flags a refund comes out of the platform's balance alone (Stripe's default).
    const plain = await hold(5_000, { destination: { account, applicationFeeMinor: 500 } });
    await stripe.capture(plain.providerRef, { idempotencyKey: key('capture'), applicationFeeMinor: 500 });
    const before = emulator.balance('eur');
    await stripe.refund(plain.providerRef, { idempotencyKey: key('refund'), amountMinor: 1_000 });
    expect(emulator.balance('eur', account)).toBe(4_500);
    expect(emulator.balance('eur') - before).toBe(-1_000);
    // Only a destination charge has a transfer to reverse.
    const own = await hold(2_000);
    await stripe.capture(own.providerRef, { idempotencyKey: key('capture') });
    await expect(
      stripe.refund(own.providerRef, { idempotencyKey: key('refund'), reverseTransfer: true }),
    ).rejects.toBeInstanceOf(ProviderError);
  });

  it('transfers to a connected account once per idempotency key', async () => {
    const paid = await hold(50_000, { capture: 'automatic' });
    expect(paid.status).toBe('captured');
    const { account } = await stripe.createConnectedAccount({
      idempotencyKey: key('acct'),
      country: 'EG',
      metadata: {},
    });
    const transferKey = key('transfer');
    const input = {
      idempotencyKey: transferKey,
      destination: account,
      amount: { amountMinor: 12_000, currency: 'EUR' },
      metadata: { payoutId: 'po-1' },
    };
    const first = await stripe.transfer(input);
    const again = await stripe.transfer(input);
    expect(again.transferRef).toBe(first.transferRef);
    expect(first).toMatchObject({ amountMinor: 12_000, currency: 'EUR' });
    expect(emulator.balance('eur', account)).toBe(12_000);
    expect(emulator.transfers().filter((t) => t.destination === account)).toHaveLength(1);
  });

  it('a connected account pays out to its bank; the payout is paid when it arrives', async () => {
    await hold(30_000, { capture: 'automatic' });
    const { account } = await stripe.createConnectedAccount({
      idempotencyKey: key('acct'),
      country: 'AE',
      metadata: {},
    });
    await stripe.transfer({
      idempotencyKey: key('transfer'),
      destination: account,
      amount: { amountMinor: 9_000, currency: 'EUR' },
      metadata: {},
    });
    const payout = await stripe.client.payouts.create(
      { amount: 9_000, currency: 'eur' },
      { stripeAccount: account, idempotencyKey: key('payout') },
    );
    expect(payout.status).toBe('pending');
    expect(emulator.balance('eur', account)).toBe(0);
    emulator.advanceClock(86_400_000);
    const paid = emulator
      .events()
      .find((e) => e.type === 'payout.paid' && (e.data.object as { id: string }).id === payout.id);
    expect(paid?.account).toBe(account);
    const event = emulator.signedEvents().find((e) => e.id === paid?.id);
    expect(await stripe.parseWebhook(Buffer.from(event?.body ?? ''), event?.headers ?? {})).toMatchObject({
      type: 'payout.paid',
      objectRef: payout.id,
      amountMinor: 9_000,
    });
  });

  it('a transfer above the available balance is refused', async () => {
    const { account } = await stripe.createConnectedAccount({
      idempotencyKey: key('acct'),
      country: 'SA',
      metadata: {},
    });
    const err = await stripe
      .transfer({
        idempotencyKey: key('transfer'),
        destination: account,
        amount: { amountMinor: 99_000_000, currency: 'EUR' },
        metadata: {},
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROVIDER_INVALID_REQUEST', providerCode: 'balance_insufficient' });
  });

  it('lists balance transactions in a range across pages', async () => {
    const from = new Date(emulator.now().getTime() - 1_000);
    const refs = [];
    for (let i = 0; i < 5; i++) refs.push((await hold(1_000 + i, { capture: 'automatic' })).providerRef);
    await stripe.refund(refs[0] as string, { idempotencyKey: key('refund'), amountMinor: 300 });
    const to = new Date(emulator.now().getTime() + 2_000);
    const listed = [];
    for await (const txn of stripe.balanceTransactions({ from, to })) listed.push(txn);
    const pagesAsked = emulator.requests().filter((r) => r.path === '/v1/balance_transactions').length;
    expect(pagesAsked).toBeGreaterThan(2);
    const charges = listed
      .filter((t) => t.type === 'charge')
      .map((t) => t.amountMinor)
      .sort();
    expect(charges).toEqual(expect.arrayContaining([1_000, 1_001, 1_002, 1_003, 1_004]));
    // A charge is reported by its PaymentIntent, the id our payments store.
    expect(listed.find((t) => t.type === 'charge' && t.amountMinor === 1_000)?.sourceRef).toBe(refs[0]);
    const refund = listed.find((t) => t.type === 'refund');
    expect(refund).toMatchObject({ amountMinor: -300, currency: 'EUR', feeMinor: 0 });
    expect(refund?.sourceRef).toMatch(/^re_/);
    expect(new Set(listed.map((t) => t.id)).size).toBe(listed.length);
    // Nothing from before the range.
    const none = [];
    for await (const txn of stripe.balanceTransactions({ from: new Date(0), to: new Date(1_000) })) none.push(txn);
    expect(none).toEqual([]);
  });

  it('a transient 5xx is retried with the same idempotency key and moves money once', async () => {
    const held = await hold(2_000);
    emulator.failNext('POST', `/v1/payment_intents/${held.providerRef}/capture`, 500);
    const captured = await stripe.capture(held.providerRef, { idempotencyKey: key('capture') });
    expect(captured.status).toBe('captured');
    const attempts = emulator.requests().filter((r) => r.path === `/v1/payment_intents/${held.providerRef}/capture`);
    expect(attempts.map((a) => a.status)).toEqual([500, 200]);
    expect(new Set(attempts.map((a) => a.idempotencyKey)).size).toBe(1);
    expect(emulator.paymentBooks(held.providerRef).captures).toBe(1);
  });

  it('every mutating call carries our idempotency key', async () => {
    const idempotencyKey = key('mine');
    await hold(1_500, { idempotencyKey });
    const created = emulator.requests().filter((r) => r.method === 'POST' && r.idempotencyKey === idempotencyKey);
    expect(created).toHaveLength(1);
  });

  it('an uncaptured hold lapses after the authorisation window', async () => {
    const before = Math.floor(emulator.now().getTime() / 1000) * 1000;
    const held = await hold(3_000);
    const expires = held.authorizationExpiresAt?.getTime() ?? 0;
    expect(expires).toBeGreaterThanOrEqual(before + 7 * 86_400_000);
    expect(expires).toBeLessThanOrEqual(emulator.now().getTime() + 7 * 86_400_000);
    emulator.advanceClock(7 * 86_400_000 - 60_000);
    expect((await stripe.retrieve(held.providerRef)).status).toBe('authorized');
    emulator.advanceClock(61_000);
    expect(await stripe.retrieve(held.providerRef)).toMatchObject({ status: 'cancelled', amountCapturedMinor: 0 });
    const err = await stripe.capture(held.providerRef, { idempotencyKey: key('capture') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(
      emulator
        .events()
        .some((e) => e.type === 'payment_intent.canceled' && (e.data.object as { id: string }).id === held.providerRef),
    ).toBe(true);
  });

  it('confirms later with the payment method given at creation', async () => {
    const waiting = await hold(1_200, { confirm: false });
    expect(waiting.status).toBe('requires_action');
    const held = await stripe.confirm(waiting.providerRef, { idempotencyKey: key('confirm'), paymentMethod: '' });
    expect(held).toMatchObject({ status: 'authorized', amountAuthorizedMinor: 1_200 });
  });

  it('a card that needs 3D Secure waits for the payer, then holds', async () => {
    const waiting = await hold(4_000, { paymentMethod: 'pm_card_authenticationRequired' });
    expect(waiting.status).toBe('requires_action');
    expect(waiting.clientSecret).toMatch(new RegExp(`^${waiting.providerRef}_secret_`));
    emulator.authenticate(waiting.providerRef);
    expect(await stripe.retrieve(waiting.providerRef)).toMatchObject({
      status: 'authorized',
      amountAuthorizedMinor: 4_000,
    });
  });

  it('a declined card leaves the payment waiting for another card, with the decline code', async () => {
    const err = (await hold(2_500, { paymentMethod: 'pm_card_insufficientFunds' }).catch(
      (e: unknown) => e,
    )) as ProviderError;
    expect(err).toMatchObject({ code: 'PROVIDER_DECLINED', providerCode: 'insufficient_funds' });
    const pi = emulator.paymentIntents().at(-1);
    expect(pi?.status).toBe('requires_payment_method');
    expect(await stripe.retrieve(pi?.id as string)).toMatchObject({
      status: 'requires_action',
      failureCode: 'insufficient_funds',
    });
    const retried = await stripe.confirm(pi?.id as string, {
      idempotencyKey: key('confirm'),
      paymentMethod: 'pm_card_mastercard',
    });
    expect(retried.status).toBe('authorized');
  });

  it('maps webhook events onto our vocabulary', async () => {
    const held = await hold(6_000);
    await stripe.capture(held.providerRef, { idempotencyKey: key('capture'), amountMinor: 5_000 });
    await stripe.refund(held.providerRef, { idempotencyKey: key('refund'), amountMinor: 1_000 });
    const dispute = emulator.dispute(held.providerRef);
    emulator.closeDispute(dispute, 'lost');
    const mapped = [];
    for (const e of emulator.signedEvents()) mapped.push(await stripe.parseWebhook(Buffer.from(e.body), e.headers));
    const about = mapped.filter((e) => e.providerRef === held.providerRef && e.type !== 'other');
    expect(about.map((e) => [e.type, e.amountMinor])).toEqual([
      ['payment.authorized', 6_000],
      ['payment.captured', 5_000],
      ['refund.succeeded', 1_000],
      ['dispute.opened', 5_000],
      ['dispute.closed', 5_000],
    ]);
    expect(emulator.balanceTransactions().find((t) => t.source === dispute)).toMatchObject({
      type: 'adjustment',
      amount: -5_000,
    });
  });
});
