import type { Translator } from '@clutch/i18n';
import {
  confirmCardPayment,
  testPaymentMethod,
  verifyPayment,
  type Payment,
  type PaymentsConfig,
} from './money-api.js';
import { PageProblem } from './problem-view.js';

/**
 * The card step the checkout and the wallet's top-up share: read the card form, confirm the payment's
 * intent at the Stripe API from the browser (what Stripe.js does), then ask our API to verify it so the
 * page shows the state the server now holds (the webhook may come later; verify is idempotent).
 */

export interface CardForm {
  number: HTMLInputElement;
  expiry: HTMLInputElement;
  cvc: HTMLInputElement;
}

/** The test PaymentMethod for what was typed, or a PageProblem worded by the catalogue. */
export function cardPaymentMethod(i18n: Translator, form: CardForm): string {
  const pm = testPaymentMethod(form.number.value);
  if (!pm) throw new PageProblem(i18n.t('payments.card.unknownNumber'));
  const expiry = /^\s*(\d{2})\s*\/\s*(\d{2})\s*$/.exec(form.expiry.value);
  const month = Number(expiry?.[1] ?? 0);
  const year = 2000 + Number(expiry?.[2] ?? 0);
  const now = new Date();
  if (!expiry || month < 1 || month > 12 || year * 12 + month < now.getUTCFullYear() * 12 + now.getUTCMonth() + 1)
    throw new PageProblem(i18n.t('payments.card.badExpiry'));
  if (!/^\d{3,4}$/.test(form.cvc.value.trim())) throw new PageProblem(i18n.t('payments.card.badCvc'));
  return pm;
}

/**
 * Confirms `payment` (which carries its client secret) with the card and returns the payment as our
 * API holds it afterwards. A declined card throws the provider's problem; the intent stays open, so
 * the same payment can be confirmed again with another card.
 */
export async function confirmByCard(
  i18n: Translator,
  config: PaymentsConfig,
  payment: Payment,
  paymentMethod: string,
): Promise<Payment> {
  if (!config.stripe || !payment.clientSecret) throw new PageProblem(i18n.t('payments.card.unavailable'));
  const confirmed = await confirmCardPayment(config.stripe, payment.clientSecret, paymentMethod);
  if (confirmed.status === 'requires_action') throw new PageProblem(i18n.t('payments.card.actionRequired'));
  return verifyPayment(payment.id);
}
