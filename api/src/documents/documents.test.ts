import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Database } from '@clutch/db';
import { formatMoney } from '@clutch/i18n';
import { generateSigningKeys, smtpMailer } from '@clutch/identity';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestShop, type TestShop } from '../bookings/test-shop.js';
import { problemTranslator } from '../http/problem.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, call, expectProblem, OTHER_TENANT, startFixture, TENANT, type Fixture } from '../test-fixtures.js';
import { receiptEmailSink, RECEIPT_EMAIL_QUEUE, sendReceiptEmail } from './email-receipt.js';
import { renderInvoice } from './invoice.js';
import { pdfText } from './pdf-text.js';
import { renderPayoutStatement } from './payout-statement.js';
import { renderReceipt } from './receipt.js';

const en = problemTranslator('en');
const text = async (pdf: Promise<Buffer>): Promise<string> => pdfText(await pdf).join('\n');

describe('documents as PDF: every text from the catalogue, money and dates formatted', () => {
  it('prints a receipt with the amounts, the payee and the time in the customer’s zone', async () => {
    const t = await text(
      renderReceipt(
        {
          payment: {
            id: '0f1e2d3c-0000-4000-8000-000000000001',
            purpose: 'repair',
            provider: 'stripe',
            capturedMinor: 123_450,
            refundedMinor: 20_000,
            currency: 'EGP',
            paidAt: '2026-12-03T22:30:00Z',
          },
          payee: { name: 'Nile Motors' },
          customer: { name: 'Layla Hassan', timeZone: 'Africa/Cairo' },
        },
        en,
        { compress: false },
      ),
    );
    expect(t).toContain(en.t('documents.receipt.title'));
    expect(t).toContain(en.t('documents.receipt.number', { number: '0F1E2D3C' }));
    expect(t).toContain(en.t('documents.common.from', { name: 'Nile Motors' }));
    expect(t).toContain(en.t('documents.common.billedTo', { name: 'Layla Hassan' }));
    expect(t).toContain(en.t('documents.receipt.method', { method: en.t('documents.method.stripe') }));
    expect(t).toContain(formatMoney('en', 123_450, 'EGP'));
    expect(t).toContain(formatMoney('en', 103_450, 'EGP'));
    // 22:30 UTC is half past midnight the next day in Cairo (UTC+2).
    expect(t).toMatch(/Dec 4, 2026, 12:30\sAM \(Africa\/Cairo\)/);
  });

  it('prints an invoice with its lines, VAT, payments and the balance due', async () => {
    const t = await text(
      renderInvoice(
        {
          order: { id: 'aaaaaaaa-0000-4000-8000-000000000002', createdAt: '2026-12-01T08:00:00Z' },
          shop: { name: 'Nile Motors' },
          customer: { name: null, timeZone: 'UTC' },
          currency: 'EUR',
          lines: [
            {
              kind: 'labour',
              description: 'Brake pads',
              quantityMilli: 1500,
              unitPriceMinor: 8000,
              taxRateBp: 1900,
              netMinor: 12_000,
              taxMinor: 2_280,
              totalMinor: 14_280,
            },
            {
              kind: 'part',
              description: 'Pad set',
              quantityMilli: 1000,
              unitPriceMinor: 4000,
              taxRateBp: 1900,
              netMinor: 4_000,
              taxMinor: 760,
              totalMinor: 4_760,
            },
          ],
          payments: [
            { id: randomUUID(), provider: 'cash', capturedMinor: 5_000, refundedMinor: 0, at: '2026-12-02T10:00:00Z' },
          ],
          issuedAt: '2026-12-03T10:00:00Z',
        },
        en,
        { compress: false },
      ),
    );
    expect(t).toContain(en.t('documents.invoice.title'));
    expect(t).toContain(en.t('documents.invoice.kind.labour', { description: 'Brake pads' }));
    expect(t).toContain('1.5');
    expect(t).toContain(formatMoney('en', 19_040, 'EUR'));
    expect(t).toContain(formatMoney('en', 14_040, 'EUR'));
    expect(t).toContain(en.t('documents.invoice.balanceDue'));
    expect(t).not.toContain(en.t('documents.common.billedTo', { name: '' }).trim());
  });

  it('prints a payout statement with its commissions, refunds and totals', async () => {
    const t = await text(
      renderPayoutStatement(
        {
          payout: {
            id: 'bbbbbbbb-0000-4000-8000-000000000003',
            amountMinor: 82_900,
            currency: 'EGP',
            status: 'paid',
            transferRef: 'tr_123',
            periodStart: '2026-11-23T22:00:00Z',
            periodEnd: '2026-11-30T22:00:00Z',
            failure: null,
            createdAt: '2026-11-30T22:07:00Z',
            completedAt: '2026-11-30T22:07:01Z',
          },
          shop: { name: 'Nile Motors', timeZone: 'Africa/Cairo' },
          commissions: [
            {
              paymentId: 'cccccccc-0000-4000-8000-000000000004',
              amountMinor: 100_000,
              rateBps: 1500,
              commissionMinor: 15_000,
              vatMinor: 2_100,
              netMinor: 82_900,
              capturedAt: '2026-11-25T12:00:00Z',
            },
          ],
          reversals: [],
        },
        en,
        { compress: false },
      ),
    );
    expect(t).toContain(en.t('documents.payout.title'));
    // Period and payment in the shop's time zone (Cairo, UTC+2).
    expect(t).toMatch(/Paid Dec 1, 2026, 12:07\sAM \(Africa\/Cairo\), transfer tr_123/);
    expect(t).toContain('CCCCCCCC');
    expect(t).toContain('15%');
    expect(t).toContain(formatMoney('en', 15_000, 'EGP'));
    expect(t).toContain(formatMoney('en', 2_100, 'EGP'));
    expect(t).toContain(formatMoney('en', 82_900, 'EGP'));
  });

  it('embeds DejaVu Sans so any script of a catalogue prints', async () => {
    const pdf = await renderReceipt(
      {
        payment: {
          id: randomUUID(),
          purpose: 'booking',
          provider: 'cash',
          capturedMinor: 1,
          refundedMinor: 0,
          currency: 'AED',
          paidAt: '2026-12-03T10:00:00Z',
        },
        payee: { name: 'ورشة النيل' },
        customer: { name: null, timeZone: 'Asia/Dubai' },
      },
      en,
      { compress: false },
    );
    expect(pdf.toString('latin1')).toMatch(/\/BaseFont \/[A-Z]{6}\+DejaVuSans/);
    // Every glyph of the Arabic name came from the font (none missing: .notdef is glyph 0).
    expect(pdfText(pdf).join('')).not.toContain('\uFFFD');
  });
});

/** A payment of `shop` by `customer`, moved to captured as the payments domain would. */
async function capturedPayment(
  db: Database,
  shop: TestShop,
  customer: TestUser,
  options: { repairOrderId?: string } = {},
): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO payments (id, tenant_id, partner_id, repair_order_id, customer_tenant_id, customer_user_id, purpose, provider,
       amount_minor, currency, created_by)
     VALUES ($1, $2, $3, $4, 'consumers', $5, 'repair', 'wallet', 25000, 'EUR', 'test')`,
    [id, shop.tenantId, shop.partnerId, options.repairOrderId ?? null, customer.userId],
  );
  await db.query(
    `UPDATE payments SET status = 'captured', captured_minor = 25000, version = version + 1 WHERE id = $1`,
    [id],
  );
  return id;
}

describe.each(backends('documents'))('receipts and invoices over HTTP and by mail on %s', (_n, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let shop: TestShop;
  let shopAdmin: TestUser;
  let otherAdmin: TestUser;
  let customer: TestUser;
  let stranger: TestUser;
  let paymentId: string;
  let orderId: string;

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      ...(open ? { open } : {}),
    });
    shop = await createTestShop(fx.db, { tenantId: TENANT });
    await createTestShop(fx.db, { tenantId: OTHER_TENANT });
    shopAdmin = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'] });
    otherAdmin = await signedInUser(fx.db, keys, { tenantId: OTHER_TENANT, roles: ['partner-admin'] });
    customer = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Layla' });
    stranger = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'] });
    await fx.db.query(`UPDATE users SET time_zone = 'Africa/Cairo' WHERE id = $1`, [customer.userId]);
    orderId = randomUUID();
    await fx.db.query(
      `INSERT INTO repair_orders (id, tenant_id, partner_id, customer_tenant_id, customer_user_id, status)
       VALUES ($1, $2, $3, 'consumers', $4, 'requested')`,
      [orderId, shop.tenantId, shop.partnerId, customer.userId],
    );
    // An estimate sent and decided: one line approved, one declined.
    const estimate = randomUUID();
    await fx.db.query(
      `INSERT INTO estimates (id, tenant_id, partner_id, repair_order_id, customer_tenant_id, customer_user_id, currency,
         net_minor, tax_minor, total_minor, created_by)
       VALUES ($1, $2, $3, $4, 'consumers', $5, 'EUR', 30000, 5700, 35700, 'test')`,
      [estimate, shop.tenantId, shop.partnerId, orderId, customer.userId],
    );
    for (const [position, description, net, tax] of [
      [0, 'Brake pads', 20_000, 3_800],
      [1, 'Wiper blades', 10_000, 1_900],
    ] as const)
      await fx.db.query(
        `INSERT INTO estimate_lines (tenant_id, estimate_id, customer_tenant_id, customer_user_id, position, kind, description,
           quantity_milli, unit_price_minor, tax_rate_bp, net_minor, tax_minor, total_minor)
         VALUES ($1, $2, 'consumers', $3, $4, 'labour', $5, 1000, $6::bigint, 1900, $6::bigint, $7::bigint, $6::bigint + $7::bigint)`,
        [shop.tenantId, estimate, customer.userId, position, description, net, tax],
      );
    await fx.db.query(`UPDATE estimates SET status = 'sent', sent_at = now() WHERE id = $1`, [estimate]);
    await fx.db.query(
      `UPDATE estimate_lines SET decision = CASE position WHEN 0 THEN 'approved' ELSE 'declined' END, decided_at = now() WHERE estimate_id = $1`,
      [estimate],
    );
    await fx.db.query(
      `UPDATE estimates SET status = 'decided', approved_total_minor = 23800, decided_at = now(), decided_by = 'test' WHERE id = $1`,
      [estimate],
    );
    paymentId = await capturedPayment(fx.db, shop, customer, { repairOrderId: orderId });
  });
  afterAll(async () => {
    await fx?.close();
  });

  const getPdf = async (
    path: string,
    who: TestUser,
  ): Promise<{ status: number; type: string | null; bytes: Buffer }> => {
    const res = await fetch(fx.api.url + path, { headers: { authorization: `Bearer ${who.token}` } });
    return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
  };

  it('gives the payer and the shop the receipt, and nobody else', async () => {
    for (const who of [customer, shopAdmin]) {
      const res = await getPdf(`/api/payments/${paymentId}/receipt.pdf`, who);
      expect(res.status).toBe(200);
      expect(res.type).toBe('application/pdf');
      expect(res.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    }
    // Not captured yet: no receipt.
    const pending = randomUUID();
    await fx.db.query(
      `INSERT INTO payments (id, tenant_id, partner_id, customer_tenant_id, customer_user_id, purpose, provider, amount_minor, currency, created_by)
       VALUES ($1, $2, $3, 'consumers', $4, 'booking', 'wallet', 1000, 'EUR', 'test')`,
      [pending, shop.tenantId, shop.partnerId, customer.userId],
    );
    expectProblem(
      await call(fx.api.url, 'GET', `/api/payments/${pending}/receipt.pdf`, { token: customer.token }),
      409,
      'PAYMENT_STATE_CONFLICT',
    );
    for (const who of [stranger, otherAdmin])
      expectProblem(
        await call(fx.api.url, 'GET', `/api/payments/${paymentId}/receipt.pdf`, { token: who.token }),
        404,
        'PAYMENT_NOT_FOUND',
      );
  });

  it('gives either side of the order its invoice, and nobody else', async () => {
    for (const who of [customer, shopAdmin]) {
      const res = await getPdf(`/api/repair-orders/${orderId}/invoice.pdf`, who);
      expect(res.status).toBe(200);
      expect(res.type).toBe('application/pdf');
    }
    expectProblem(
      await call(fx.api.url, 'GET', `/api/repair-orders/${orderId}/invoice.pdf`, { token: stranger.token }),
      404,
      'REPAIR_ORDER_NOT_FOUND',
    );
    expectProblem(
      await call(fx.api.url, 'GET', `/api/repair-orders/${orderId}/invoice.pdf`, { token: otherAdmin.token }),
      404,
      'REPAIR_ORDER_NOT_FOUND',
    );
  });

  it('mails the receipt PDF to the customer once the payment is captured, once', async () => {
    const received: {
      to: string;
      subject: string;
      text: string;
      attachments: { filename: string; type: string; content: Buffer }[];
    }[] = [];
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((m) => {
            received.push({
              to: (Array.isArray(m.to) ? m.to[0] : m.to)?.text ?? '',
              subject: m.subject ?? '',
              text: m.text ?? '',
              attachments: m.attachments.map((a) => ({
                filename: a.filename ?? '',
                type: a.contentType,
                content: a.content,
              })),
            });
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    const mailer = smtpMailer({
      url: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
      from: 'Clutch <no-reply@clutch.test>',
    });
    try {
      // The outbox event the capture appended (payments' trigger) goes through the sink to the queue.
      const { rows } = await fx.db.query<{
        id: string;
        tenant_id: string;
        payload: unknown;
        created_at: Date;
        seq: string;
      }>(
        `SELECT id::text, tenant_id, payload, created_at, seq::text FROM outbox_events
          WHERE topic = 'payment.updated' AND payload->>'paymentId' = $1 ORDER BY seq`,
        [paymentId],
      );
      const enqueued: { queue: string; data: object; key: string | undefined }[] = [];
      const sink = receiptEmailSink({
        enqueue: async (queue, data, options) => {
          enqueued.push({ queue, data, key: options?.singletonKey });
          return 'job';
        },
      });
      for (const r of rows)
        await sink.deliver({
          id: r.id,
          seq: r.seq,
          tenantId: r.tenant_id,
          topic: 'payment.updated',
          payload: r.payload,
          createdAt: r.created_at,
        });
      expect(enqueued).toEqual([{ queue: RECEIPT_EMAIL_QUEUE, data: { paymentId }, key: `receipt:${paymentId}` }]);

      // The job, twice (a redelivery): one mail.
      const deps = { db: fx.db, mailer, pdf: { compress: false } };
      expect(await sendReceiptEmail(deps, paymentId)).toMatchObject({ sent: true });
      expect(await sendReceiptEmail(deps, paymentId)).toMatchObject({ sent: false, reason: 'sent already' });
      expect(received).toHaveLength(1);
      const mail = received[0]!;
      expect(mail.subject).toBe(en.t('documents.receipt.emailSubject', { shop: `Shop ${TENANT}` }));
      expect(mail.text).toContain(formatMoney('en', 25_000, 'EUR'));
      expect(mail.attachments).toHaveLength(1);
      expect(mail.attachments[0]!.type).toBe('application/pdf');
      const pdf = pdfText(mail.attachments[0]!.content).join('\n');
      expect(pdf).toContain(en.t('documents.receipt.title'));
      expect(pdf).toContain(en.t('documents.common.billedTo', { name: 'Layla' }));
      expect(pdf).toContain(formatMoney('en', 25_000, 'EUR'));
      expect(pdf).toContain('(Africa/Cairo)');
    } finally {
      mailer.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });
});
