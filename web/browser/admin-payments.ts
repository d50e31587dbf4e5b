import type { Translator } from '@clutch/i18n';
import { ApiProblem } from './api.js';
import { setText, startPageLocale } from './locale.js';
import {
  button,
  connectMarketplaceLive,
  dataText,
  el,
  money,
  serialRefresher,
  textEl,
  toMinor,
  UUID,
} from './marketplace-ui.js';
import {
  listDisputes,
  listFraudAlerts,
  listReconciliations,
  receiptUrl,
  refundPayment,
  reviewFraudAlert,
  runPayout,
  searchPayments,
  type Dispute,
  type FraudAlert,
  type Payment,
  type PaymentSearch,
  type Reconciliation,
} from './money-api.js';
import { clearProblem, PageProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';
import { withStepUp } from './step-up.js';

/**
 * The platform staff's money page (`/admin-payments.html`, docs/payments.md "Administration"): search
 * payments (status, booking or repair order) with the platform's commission of each; refund one in
 * full or in part (a second factor: `withStepUp`; the API audits it); run the payouts now; the fraud
 * review queue (confirm or dismiss, P6's routes); disputes from the providers' webhooks; the daily
 * reconciliation reports with every mismatch. Sections whose route refuses or is absent say so and
 * the rest of the page still works.
 */

/** A word from the catalogue under `prefix.<value>`, else the API's own value (marked as such). */
function worded(i18n: Translator, tag: 'td' | 'span', prefix: string, value: string): HTMLElement {
  const key = `${prefix}.${value}`;
  const text = i18n.text(key);
  const e = textEl(tag, text === key ? value : text);
  if (text === key) e.dataset.from = 'api';
  return e;
}

const when = (i18n: Translator, iso: string): string =>
  iso ? i18n.dateTime(iso, { dateStyle: 'medium', timeStyle: 'short' }) : '';

function refundCell(i18n: Translator, p: Payment, onDone: () => void, error: HTMLElement): HTMLTableCellElement {
  const td = document.createElement('td');
  const refundable = p.capturedMinor - p.refundedMinor;
  if (refundable <= 0 || !['captured', 'partially_refunded'].includes(p.status)) return td;
  const form = document.createElement('form');
  form.className = 'actions';
  const amount = document.createElement('input');
  amount.inputMode = 'decimal';
  amount.maxLength = 15;
  amount.size = 8;
  amount.translate = false;
  amount.dataset.testid = 'refund-amount';
  amount.setAttribute('aria-label', i18n.t('adminPayments.refund.amount'));
  amount.placeholder = i18n.t('adminPayments.refund.all');
  const submit = textEl('button', i18n.t('adminPayments.refund.submit'), 'secondary');
  submit.type = 'submit';
  submit.dataset.testid = 'refund';
  form.append(amount, submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearProblem(error);
    const typed = amount.value.trim();
    const minor = typed ? toMinor(typed, p.currency) : null;
    if (typed && (minor === null || minor <= 0 || minor > refundable)) {
      showProblem(
        error,
        new PageProblem(i18n.t('adminPayments.refund.badAmount', { max: money(i18n, refundable, p.currency) })),
        i18n,
      );
      return;
    }
    submit.disabled = true;
    withStepUp(i18n, () => refundPayment(p.id, minor, 'requested_by_customer'))
      .then(onDone)
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => (submit.disabled = false));
  });
  td.append(form);
  return td;
}

function paymentRow(i18n: Translator, p: Payment, onRefunded: () => void, error: HTMLElement): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'payment';
  tr.dataset.paymentId = p.id;
  tr.dataset.status = p.status;
  tr.dataset.commissionMinor = String(p.commissionMinor);
  const whenCell = document.createElement('td');
  const receipt = document.createElement('a');
  receipt.href = receiptUrl(p.id);
  receipt.textContent = when(i18n, p.createdAt);
  receipt.translate = false;
  whenCell.append(receipt);
  const amount = (minor: number): HTMLTableCellElement => dataText('td', money(i18n, minor, p.currency), 'amount');
  const commission = amount(p.commissionMinor);
  commission.dataset.testid = 'payment-commission';
  tr.append(
    whenCell,
    worded(i18n, 'td', 'payments.purpose', p.purpose),
    worded(i18n, 'td', 'payments.provider', p.provider),
    worded(i18n, 'td', 'payments.status', p.status),
    amount(p.amountMinor),
    amount(p.capturedMinor),
    commission,
    amount(p.refundedMinor),
    refundCell(i18n, p, onRefunded, error),
  );
  return tr;
}

function fraudItem(i18n: Translator, a: FraudAlert, onDone: () => void, error: HTMLElement): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.testid = 'fraud-alert';
  li.dataset.alertId = a.id;
  li.dataset.decision = a.decision;
  const head = document.createElement('p');
  head.append(
    worded(i18n, 'span', 'adminPayments.fraud.decision', a.decision),
    ' ',
    worded(i18n, 'span', 'adminPayments.fraud.kind', a.kind),
    ' ',
    dataText('span', money(i18n, a.amountMinor, a.currency)),
    ' ',
    textEl('span', i18n.t('adminPayments.fraud.score', { score: a.score })),
    ' ',
    dataText('span', when(i18n, a.createdAt), 'muted'),
  );
  const reasons = document.createElement('p');
  reasons.className = 'muted';
  reasons.append(
    ...a.reasons.flatMap((r, i) => [...(i > 0 ? [', '] : []), worded(i18n, 'span', 'adminPayments.fraud.reason', r)]),
  );
  const decide = (outcome: 'confirmed' | 'dismissed') => (): void => {
    clearProblem(error);
    reviewFraudAlert(a.id, outcome)
      .then(onDone)
      .catch((err: unknown) => showProblem(error, err, i18n));
  };
  const actions = document.createElement('div');
  actions.className = 'actions';
  actions.append(
    button(i18n.t('adminPayments.fraud.confirm'), decide('confirmed'), 'fraud-confirm', 'secondary danger'),
    button(i18n.t('adminPayments.fraud.dismiss'), decide('dismissed'), 'fraud-dismiss'),
  );
  li.append(head, reasons, actions);
  return li;
}

function disputeRow(i18n: Translator, d: Dispute): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'dispute';
  tr.append(
    dataText('td', when(i18n, d.occurredAt)),
    worded(i18n, 'td', 'payments.provider', d.provider),
    dataText('td', d.providerRef ?? ''),
    worded(i18n, 'td', 'adminPayments.disputes.status', d.status),
    dataText('td', money(i18n, d.amountMinor, d.currency), 'amount'),
  );
  return tr;
}

function reconciliationItem(i18n: Translator, r: Reconciliation): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.testid = 'reconciliation';
  li.dataset.mismatches = String(r.mismatches.length);
  li.append(
    textEl(
      'p',
      i18n.t('adminPayments.reconciliation.summary', {
        period: r.period || when(i18n, r.createdAt),
        matched: r.matched,
        mismatches: r.mismatches.length,
      }),
    ),
  );
  if (r.mismatches.length) {
    const ul = document.createElement('ul');
    for (const m of r.mismatches) {
      const item = document.createElement('li');
      item.append(worded(i18n, 'span', 'adminPayments.reconciliation.kind', m.kind), ' ', dataText('code', m.ref));
      ul.append(item);
    }
    li.append(ul);
  }
  return li;
}

/**
 * Loads one section; a refusal is shown and keeps the others. A route this platform does not have
 * (404 on the route itself) hides its section instead of showing an error.
 */
async function section(error: HTMLElement, i18n: Translator, testid: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (err instanceof ApiProblem && err.status === 404) el(testid).closest('section')!.hidden = true;
    else showProblem(error, err, i18n);
  }
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  await startSessionNav(i18n, { requireSession: true });
  const error = el('error');
  const notice = el('notice');
  const status = el('status');
  const tbody = el('payments').querySelector('tbody')!;
  const more = el<HTMLButtonElement>('payments-more');
  let search: PaymentSearch = {};
  let cursor: string | null = null;

  const loadPayments = async (): Promise<void> => {
    const page = await searchPayments(search);
    tbody.replaceChildren(...page.items.map((p) => paymentRow(i18n, p, refresh, error)));
    cursor = page.nextCursor;
    more.hidden = cursor === null;
    el('payments-empty').hidden = page.items.length > 0;
  };
  const loadFraud = async (): Promise<void> => {
    const alerts = await listFraudAlerts('open');
    el('fraud-alerts').replaceChildren(...alerts.map((a) => fraudItem(i18n, a, () => void loadFraud(), error)));
    el('fraud-empty').hidden = alerts.length > 0;
  };
  const loadDisputes = async (): Promise<void> => {
    const disputes = await listDisputes();
    el('disputes')
      .querySelector('tbody')!
      .replaceChildren(...disputes.map((d) => disputeRow(i18n, d)));
    el('disputes-empty').hidden = disputes.length > 0;
  };
  const loadReconciliations = async (): Promise<void> => {
    const reports = await listReconciliations();
    el('reconciliations').replaceChildren(...reports.map((r) => reconciliationItem(i18n, r)));
    el('reconciliation-empty').hidden = reports.length > 0;
  };
  const refresh = serialRefresher(loadPayments, (err) => showProblem(error, err, i18n));

  el<HTMLFormElement>('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    clearProblem(error);
    const ref = el<HTMLInputElement>('search-ref').value.trim();
    if (ref && !UUID.test(ref)) {
      showProblem(error, new PageProblem(i18n.t('adminPayments.search.badRef')), i18n);
      return;
    }
    const statusFilter = el<HTMLSelectElement>('search-status').value;
    // An id is a booking's or a repair order's: ask for both, show what either finds.
    search = { ...(statusFilter ? { status: statusFilter } : {}) };
    const run = async (): Promise<void> => {
      if (!ref) return loadPayments();
      const [byBooking, byOrder] = await Promise.all([
        searchPayments({ ...search, bookingId: ref }),
        searchPayments({ ...search, repairOrderId: ref }),
      ]);
      const seen = new Set<string>();
      const found = [...byBooking.items, ...byOrder.items].filter((p) => !seen.has(p.id) && seen.add(p.id));
      tbody.replaceChildren(...found.map((p) => paymentRow(i18n, p, refresh, error)));
      el('payments-empty').hidden = found.length > 0;
      more.hidden = true;
    };
    void run().catch((err: unknown) => showProblem(error, err, i18n));
  });
  more.addEventListener('click', () => {
    if (!cursor) return;
    more.disabled = true;
    searchPayments({ ...search, cursor })
      .then((page) => {
        tbody.append(...page.items.map((p) => paymentRow(i18n, p, refresh, error)));
        cursor = page.nextCursor;
        more.hidden = cursor === null;
      })
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => (more.disabled = false));
  });
  el('run-payouts').addEventListener('click', () => {
    const run = el<HTMLButtonElement>('run-payouts');
    run.disabled = true;
    clearProblem(error);
    withStepUp(i18n, () => runPayout(null))
      .then(() => {
        notice.textContent = i18n.t('adminPayments.payouts.done');
        notice.hidden = false;
      })
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => (run.disabled = false));
  });

  await Promise.all([
    section(error, i18n, 'payments', loadPayments),
    section(error, i18n, 'fraud-alerts', loadFraud),
    section(error, i18n, 'disputes', loadDisputes),
    section(error, i18n, 'reconciliations', loadReconciliations),
  ]);
  setText(status, i18n.t('adminPayments.ready'));
  status.dataset.state = 'ready';

  const connection = el('connection');
  void connectMarketplaceLive(
    (event) => {
      if (event === 'payment_notification') refresh();
    },
    (s) => {
      connection.dataset.state = s;
      setText(connection, i18n.t(s === 'live' ? 'marketplace.live.live' : 'marketplace.live.offline'));
    },
  ).catch(() => undefined);
}

void main();
