import { z } from 'zod';
import type { DomainDeps } from '../domain.js';
import { problemTranslator } from '../http/problem.js';
import type { ApiRouter } from '../http/route.js';
import { DocumentsService } from './service.js';
import { inlinePdf } from './pdf.js';

/** Receipts and invoices as PDF (docs/commissions.md, "Documents"); payout statements are commissions'. */
export function register(router: ApiRouter, _deps: DomainDeps): void {
  const documents = new DocumentsService();

  router.route({
    method: 'get',
    path: '/payments/:id/receipt.pdf',
    tag: 'payments',
    summary: "A captured payment's receipt as PDF (in the caller's language; dates in the customer's time zone)",
    access: { permission: 'payments:read', perResource: 'service' },
    params: z.object({ id: z.uuid() }),
    response: { status: 200, description: 'application/pdf' },
    errors: ['PAYMENT_NOT_FOUND', 'PAYMENT_STATE_CONFLICT'],
    handle: async ({ scope, principal, policy, params, ctx }) => {
      const pdf = await documents.receipt(
        { scope, principal, policy },
        params.id,
        problemTranslator(ctx.get('Accept-Language') || undefined),
      );
      return inlinePdf(ctx, `receipt-${params.id}.pdf`, pdf);
    },
  });

  router.route({
    method: 'get',
    path: '/repair-orders/:id/invoice.pdf',
    tag: 'repair-orders',
    summary:
      "A repair order's invoice as PDF: the approved work of its decided estimates, VAT, payments and the balance due",
    access: { permission: 'repair-orders:read', perResource: 'service' },
    params: z.object({ id: z.uuid() }),
    response: { status: 200, description: 'application/pdf' },
    errors: ['REPAIR_ORDER_NOT_FOUND'],
    handle: async ({ scope, principal, policy, params, ctx }) => {
      const pdf = await documents.invoice(
        { scope, principal, policy },
        params.id,
        problemTranslator(ctx.get('Accept-Language') || undefined),
      );
      return inlinePdf(ctx, `invoice-${params.id}.pdf`, pdf);
    },
  });
}
