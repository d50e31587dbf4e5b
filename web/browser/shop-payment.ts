import type { Translator } from '@clutch/i18n';
import { cardPaymentMethod, confirmByCard, type CardForm } from './card-step.js';
import { el, money } from './marketplace-ui.js';
import {
  loadPayment,
  loadPaymentsConfig,
  payBooking,
  type Payment,
  type PaymentProviderName,
  type PaymentsConfig,
} from './money-api.js';
import { clearProblem, PageProblem, showProblem } from './problem-view.js';

/**
 * The checkout's payment step on the shop page, once the booking exists (docs/payments.md, "Checkout"):
 * the owner holds the booking's price on a card (confirmed in the browser at the Stripe API), holds it
 * in the Clutch wallet, or pays at the shop. Nothing is taken before delivery: the shop's capture at
 * delivery takes the approved amount. A declined card shows the provider's refusal and the form stays,
 * so the owner tries another card on the same payment (Stripe keeps the intent open after a decline).
 */

const STATUS_DONE = new Set(['authorized', 'captured']);
const CLOSED = new Set(['failed', 'cancelled']);

function chosenMethod(): PaymentProviderName {
  const checked = document.querySelector<HTMLInputElement>('input[name="payment-method"]:checked');
  return (checked?.value ?? 'stripe') as PaymentProviderName;
}

function doneText(i18n: Translator, p: Payment): string {
  const amount = money(i18n, p.amountMinor, p.currency);
  if (p.provider === 'cash') return i18n.t('payments.checkout.payAtShop', { amount });
  if (p.provider === 'wallet') return i18n.t('payments.checkout.heldWallet', { amount });
  return i18n.t('payments.checkout.heldCard', { amount });
}

export async function startPaymentStep(i18n: Translator, bookingId: string): Promise<void> {
  const form = el<HTMLFormElement>('payment');
  const error = el('payment-error');
  const done = el('payment-done');
  const payButton = el<HTMLButtonElement>('pay');
  const cardForm = el('card-form');
  const card: CardForm = {
    number: el<HTMLInputElement>('card-number'),
    expiry: el<HTMLInputElement>('card-expiry'),
    cvc: el<HTMLInputElement>('card-cvc'),
  };
  let config: PaymentsConfig;
  try {
    config = await loadPaymentsConfig();
  } catch (err) {
    // No payments on this platform (or not for this user): the booking stands, paid at the shop.
    showProblem(error, err, i18n);
    form.hidden = false;
    el('payment-methods').hidden = true;
    cardForm.hidden = true;
    payButton.hidden = true;
    return;
  }
  const offered = new Set<string>(config.providers);
  if (!config.stripe) offered.delete('stripe');
  for (const method of ['stripe', 'wallet', 'cash'] as const) {
    el(`method-${method}`).hidden = !offered.has(method);
  }
  const first = (['stripe', 'wallet', 'cash'] as const).find((m) => offered.has(m));
  if (first) document.querySelector<HTMLInputElement>(`input[name="payment-method"][value="${first}"]`)!.checked = true;
  const showCard = (): void => {
    cardForm.hidden = chosenMethod() !== 'stripe';
  };
  form.addEventListener('change', showCard);
  showCard();
  form.hidden = false;

  // One payment per provider for this booking: a retry after a declined card confirms the same intent.
  const started = new Map<string, Payment>();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const method = chosenMethod();
    clearProblem(error);
    payButton.disabled = true;
    (async () => {
      const pm = method === 'stripe' ? cardPaymentMethod(i18n, card) : null;
      let p = started.get(method);
      // After a declined card the intent stays open at Stripe; if our side has closed the payment
      // (failed or cancelled, e.g. by the provider's webhook), the next card starts a new one.
      if (p && !STATUS_DONE.has(p.status)) {
        // The client secret is only in the answer that created the payment: keep it.
        const now: Payment = { ...(await loadPayment(p.id)), clientSecret: p.clientSecret };
        p = CLOSED.has(now.status) ? undefined : now;
      }
      if (!p) {
        p = await payBooking(bookingId, method);
        started.set(method, p);
      }
      if (pm && !STATUS_DONE.has(p.status)) p = await confirmByCard(i18n, config, p, pm);
      if (method !== 'cash' && !STATUS_DONE.has(p.status)) {
        form.dataset.status = p.status;
        throw new PageProblem(i18n.t('payments.checkout.notHeld', { status: p.status }));
      }
      form.hidden = true;
      done.textContent = doneText(i18n, p);
      done.dataset.paymentId = p.id;
      done.dataset.status = p.status;
      done.hidden = false;
    })()
      .catch((err: unknown) => {
        // The typed card number is not kept after a refusal: the owner types the next one.
        card.number.select();
        showProblem(error, err, i18n);
      })
      .finally(() => {
        payButton.disabled = false;
      });
  });
}
