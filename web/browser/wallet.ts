import type { Translator } from '@clutch/i18n';
import { cardPaymentMethod, confirmByCard, type CardForm } from './card-step.js';
import { setText, startPageLocale } from './locale.js';
import {
  connectMarketplaceLive,
  dataText,
  el,
  money,
  param,
  serialRefresher,
  textEl,
  toMinor,
} from './marketplace-ui.js';
import {
  createWallet,
  loadPaymentsConfig,
  loadWalletBalance,
  loadWalletHistory,
  startTopUp,
  walletTransfer,
  type Payment,
  type WalletEntry,
} from './money-api.js';
import { clearProblem, PageProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';
import { withStepUp } from './step-up.js';

/**
 * The signed-in person's wallet (`/wallet.html?currency=EUR`, docs/payments.md "Wallet"): the balance as
 * the ledger keeps it (posted, held for bookings, available), the history newest first with cursor
 * paging, a top-up by card (a payment with purpose `wallet_topup`, confirmed in the browser like the
 * checkout) and a transfer to another person by email (a second factor above the API's threshold:
 * `withStepUp`). `payment_notification` events re-read balance and history live.
 */

/** The catalogue's word for a ledger reason (`wallet.reason.<reason>`), else the reason as the API says it. */
function reasonText(i18n: Translator, reason: string): { text: string; fromApi: boolean } {
  const key = `wallet.reason.${reason}`;
  const text = i18n.text(key);
  return text === key ? { text: reason, fromApi: true } : { text, fromApi: false };
}

function historyRow(i18n: Translator, e: WalletEntry): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'history-entry';
  tr.dataset.pending = String(e.pending);
  tr.dataset.amountMinor = String(e.amountMinor);
  const when = dataText('td', e.at ? i18n.dateTime(e.at, { dateStyle: 'medium', timeStyle: 'short' }) : '');
  const reason = reasonText(i18n, e.reason);
  const what = document.createElement('td');
  const label = textEl('span', reason.text);
  if (reason.fromApi) label.dataset.from = 'api';
  what.append(label);
  if (e.pending) what.append(' ', textEl('span', i18n.t('wallet.history.pending'), 'muted'));
  if (e.reference) what.append(' ', dataText('span', e.reference, 'muted'));
  const amount = dataText('td', money(i18n, e.amountMinor, e.currency), 'amount');
  tr.append(when, what, amount);
  return tr;
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  await startSessionNav(i18n, { requireSession: true });
  const currency = /^[A-Z]{3}$/.test(param('currency')) ? param('currency') : 'EUR';
  const error = el('error');
  const notice = el('notice');
  const status = el('status');
  const create = el<HTMLButtonElement>('create-wallet');
  const tbody = el('history').querySelector('tbody')!;
  const more = el<HTMLButtonElement>('history-more');
  let cursor: string | null = null;

  const say = (text: string): void => {
    notice.textContent = text;
    notice.hidden = false;
  };

  const reload = async (): Promise<void> => {
    const balance = await loadWalletBalance(currency);
    create.hidden = balance !== null;
    const figures = balance ?? { postedMinor: 0, heldMinor: 0, availableMinor: 0, currency };
    setText(el('balance-available'), money(i18n, figures.availableMinor, currency));
    setText(el('balance-held'), money(i18n, figures.heldMinor, currency));
    setText(el('balance-posted'), money(i18n, figures.postedMinor, currency));
    el('balance').dataset.availableMinor = String(figures.availableMinor);
    el('balance').dataset.heldMinor = String(figures.heldMinor);
    if (balance) {
      const page = await loadWalletHistory(currency);
      tbody.replaceChildren(...page.items.map((e) => historyRow(i18n, e)));
      cursor = page.nextCursor;
    } else {
      tbody.replaceChildren();
      cursor = null;
    }
    more.hidden = cursor === null;
    el('history-empty').hidden = tbody.childElementCount > 0;
    setText(status, i18n.t(balance ? 'wallet.ready' : 'wallet.none', { currency }));
    status.dataset.state = 'ready';
  };

  more.addEventListener('click', () => {
    if (!cursor) return;
    more.disabled = true;
    loadWalletHistory(currency, cursor)
      .then((page) => {
        tbody.append(...page.items.map((e) => historyRow(i18n, e)));
        cursor = page.nextCursor;
        more.hidden = cursor === null;
      })
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => (more.disabled = false));
  });

  create.addEventListener('click', () => {
    create.disabled = true;
    createWallet(currency)
      .then(reload)
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => (create.disabled = false));
  });

  // Top-up: one payment per amount typed; a declined card is retried on the same payment.
  const card: CardForm = {
    number: el<HTMLInputElement>('card-number'),
    expiry: el<HTMLInputElement>('card-expiry'),
    cvc: el<HTMLInputElement>('card-cvc'),
  };
  let topUp: { amountMinor: number; payment: Payment } | null = null;
  const topUpForm = el<HTMLFormElement>('top-up-form');
  topUpForm.addEventListener('submit', (event) => {
    event.preventDefault();
    clearProblem(error);
    notice.hidden = true;
    const submit = el<HTMLButtonElement>('top-up');
    submit.disabled = true;
    (async () => {
      const amountMinor = toMinor(el<HTMLInputElement>('top-up-amount').value, currency);
      if (amountMinor === null || amountMinor <= 0) throw new PageProblem(i18n.t('wallet.badAmount'));
      const pm = cardPaymentMethod(i18n, card);
      const config = await loadPaymentsConfig();
      if (!topUp || topUp.amountMinor !== amountMinor || topUp.payment.status === 'captured')
        topUp = { amountMinor, payment: await startTopUp(amountMinor, currency) };
      const p = await confirmByCard(i18n, config, topUp.payment, pm);
      topUp = { amountMinor, payment: p };
      if (p.status !== 'captured') throw new PageProblem(i18n.t('payments.checkout.notHeld', { status: p.status }));
      say(i18n.t('wallet.topUp.done', { amount: money(i18n, amountMinor, currency) }));
      topUpForm.reset();
      topUp = null;
      await reload();
    })()
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => (submit.disabled = false));
  });

  const transferForm = el<HTMLFormElement>('transfer-form');
  transferForm.addEventListener('submit', (event) => {
    event.preventDefault();
    clearProblem(error);
    notice.hidden = true;
    const submit = el<HTMLButtonElement>('transfer');
    const to = el<HTMLInputElement>('transfer-to').value.trim();
    const amountMinor = toMinor(el<HTMLInputElement>('transfer-amount').value, currency);
    if (amountMinor === null || amountMinor <= 0) {
      showProblem(error, new PageProblem(i18n.t('wallet.badAmount')), i18n);
      return;
    }
    submit.disabled = true;
    withStepUp(i18n, () =>
      walletTransfer(to, amountMinor, currency, el<HTMLInputElement>('transfer-note').value.trim()),
    )
      .then(async () => {
        say(i18n.t('wallet.transfer.done', { amount: money(i18n, amountMinor, currency), to }));
        transferForm.reset();
        await reload();
      })
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => (submit.disabled = false));
  });

  try {
    await reload();
  } catch (err) {
    setText(status, i18n.t('wallet.loadFailed'));
    showProblem(error, err, i18n);
    return;
  }
  const refresh = serialRefresher(reload, (err) => showProblem(error, err, i18n));
  const connection = el('connection');
  void connectMarketplaceLive(
    (event) => {
      if (event === 'payment_notification') refresh();
    },
    (s) => {
      if (s === 'live' && connection.dataset.state !== 'live') refresh();
      connection.dataset.state = s;
      setText(connection, i18n.t(s === 'live' ? 'marketplace.live.live' : 'marketplace.live.offline'));
    },
  ).catch(() => undefined);
}

void main();
