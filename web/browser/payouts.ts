import type { Translator } from '@clutch/i18n';
import { setText, startPageLocale } from './locale.js';
import { dataText, el, link, money, param, textEl } from './marketplace-ui.js';
import {
  listCommissions,
  listPayoutAccounts,
  listPayouts,
  loadCommissionAnalytics,
  statementUrl,
  type AnalyticsRow,
  type Commission,
  type Payout,
} from './money-api.js';
import { showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';

/**
 * A shop's earnings (`/payouts.html`, partner admins; platform staff add `?partner=<id>`; docs/payments.md
 * "Payouts"): the totals (taken from customers, the platform's commission and the VAT on it, the shop's
 * net, paid out), the payout account's state, each payout with its status and PDF statement, and the
 * commission of every captured payment (rate, tier, split). Everything is the API's
 * (api/src/commissions, docs/commissions.md); the page only adds it up where the API gives periods.
 */

function when(i18n: Translator, iso: string): HTMLTableCellElement {
  return dataText('td', iso ? i18n.dateTime(iso, { dateStyle: 'medium' }) : '');
}

/** A status word from the catalogue (`payouts.status.<status>`), else the API's own. */
function statusCell(i18n: Translator, prefix: string, status: string): HTMLTableCellElement {
  const key = `${prefix}.${status}`;
  const text = i18n.text(key);
  const td = textEl('td', text === key ? status : text);
  if (text === key) td.dataset.from = 'api';
  td.dataset.status = status;
  return td;
}

function amountCell(i18n: Translator, minor: number, currency: string): HTMLTableCellElement {
  return dataText('td', money(i18n, minor, currency), 'amount');
}

function payoutRow(i18n: Translator, p: Payout): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'payout';
  tr.dataset.payoutId = p.id;
  const statement = document.createElement('td');
  statement.append(link(statementUrl(p.id), i18n.t('payouts.list.download'), 'statement-link'));
  tr.append(
    when(i18n, p.createdAt),
    statusCell(i18n, 'payouts.status', p.status),
    amountCell(i18n, p.amountMinor, p.currency),
    statement,
  );
  return tr;
}

function commissionRow(i18n: Translator, c: Commission): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'commission';
  tr.dataset.paymentId = c.paymentId;
  tr.dataset.commissionMinor = String(c.commissionMinor);
  // A percentage in the locale's digits: data, like the amounts.
  const rate = dataText('td', i18n.number(c.rateBps / 10_000, { style: 'percent', maximumFractionDigits: 2 }));
  rate.dataset.tier = c.tier;
  tr.append(
    when(i18n, c.createdAt),
    amountCell(i18n, c.amountMinor, c.currency),
    rate,
    amountCell(i18n, c.commissionMinor, c.currency),
    amountCell(i18n, c.vatMinor, c.currency),
    amountCell(i18n, c.netToShopMinor, c.currency),
  );
  return tr;
}

interface Totals {
  currency: string;
  captured: number;
  commission: number;
  vat: number;
  net: number;
  paidOut: number;
}

/** The totals of the analytics' periods, or (when the API gives none) of the listed rows. */
function totals(rows: AnalyticsRow[], commissions: Commission[], payouts: Payout[]): Totals {
  const currency = rows[0]?.currency ?? commissions[0]?.currency ?? payouts[0]?.currency ?? 'EUR';
  const paidOut = payouts.filter((p) => p.status === 'paid' || p.status === 'succeeded' || p.status === 'done');
  if (rows.length > 0) {
    const same = rows.filter((r) => r.currency === currency);
    const sum = (f: (r: AnalyticsRow) => number): number => same.reduce((s, r) => s + f(r), 0);
    return {
      currency,
      captured: sum((r) => r.capturedMinor),
      commission: sum((r) => r.commissionMinor),
      vat: sum((r) => r.vatMinor),
      net: sum((r) => r.netMinor),
      paidOut: sum((r) => r.payoutsMinor),
    };
  }
  const same = commissions.filter((c) => c.currency === currency);
  const sum = (f: (c: Commission) => number): number => same.reduce((s, c) => s + f(c), 0);
  return {
    currency,
    captured: sum((c) => c.amountMinor),
    commission: sum((c) => c.commissionMinor),
    vat: sum((c) => c.vatMinor),
    net: sum((c) => c.netToShopMinor),
    paidOut: paidOut.filter((p) => p.currency === currency).reduce((s, p) => s + p.amountMinor, 0),
  };
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  await startSessionNav(i18n, { requireSession: true });
  const error = el('error');
  const status = el('status');
  const partnerId = param('partner') || undefined;
  const commissionsBody = el('commissions').querySelector('tbody')!;
  const more = el<HTMLButtonElement>('commissions-more');
  let cursor: string | null = null;

  try {
    const [analytics, commissions, payouts, accounts] = await Promise.all([
      loadCommissionAnalytics().catch(() => [] as AnalyticsRow[]),
      listCommissions(partnerId),
      listPayouts(partnerId),
      listPayoutAccounts().catch(() => []),
    ]);
    const mine = partnerId ? analytics.filter((r) => r.partnerId === null || r.partnerId === partnerId) : analytics;
    const t = totals(mine, commissions.items, payouts);
    setText(el('figure-captured'), money(i18n, t.captured, t.currency));
    setText(el('figure-commission'), money(i18n, t.commission, t.currency));
    setText(el('figure-vat'), money(i18n, t.vat, t.currency));
    setText(el('figure-net'), money(i18n, t.net, t.currency));
    setText(el('figure-paid-out'), money(i18n, t.paidOut, t.currency));
    el('figures').dataset.commissionMinor = String(t.commission);

    const account = accounts.find((a) => !partnerId || a.partnerId === partnerId);
    const accountEl = el('payout-account');
    if (account) {
      const key = `payouts.account.status.${account.status}`;
      const word = i18n.text(key);
      accountEl.replaceChildren(
        textEl('span', i18n.t('payouts.account.connected', { provider: account.provider })),
        ' ',
        dataText('code', account.accountRef),
        ' ',
        textEl('strong', word === key ? account.status : word),
      );
      accountEl.dataset.status = account.status;
    }

    el('payouts')
      .querySelector('tbody')!
      .replaceChildren(...payouts.map((p) => payoutRow(i18n, p)));
    el('payouts-empty').hidden = payouts.length > 0;
    commissionsBody.replaceChildren(...commissions.items.map((c) => commissionRow(i18n, c)));
    el('commissions-empty').hidden = commissions.items.length > 0;
    cursor = commissions.nextCursor;
    more.hidden = cursor === null;
    setText(status, i18n.t('payouts.ready'));
    status.dataset.state = 'ready';
  } catch (err) {
    setText(status, i18n.t('payouts.loadFailed'));
    showProblem(error, err, i18n);
  }

  more.addEventListener('click', () => {
    if (!cursor) return;
    more.disabled = true;
    listCommissions(partnerId, cursor)
      .then((page) => {
        commissionsBody.append(...page.items.map((c) => commissionRow(i18n, c)));
        cursor = page.nextCursor;
        more.hidden = cursor === null;
      })
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => (more.disabled = false));
  });
}

void main();
