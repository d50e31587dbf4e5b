import type { Translator } from '@clutch/i18n';
import { apiRequest } from './api.js';
import { keepLang, setText, startPageLocale } from './locale.js';
import {
  checkIn,
  decideEstimate,
  listEstimates,
  loadBooking,
  loadRepairOrder,
  loadShop,
  moveRepairOrder,
  postReview,
  resumeRepairOrder,
  type Estimate,
  type RepairOrder,
  type ShopProfile,
} from './marketplace-api.js';
import {
  button,
  connectMarketplaceLive,
  serialRefresher,
  dataText,
  el,
  money,
  param,
  statusName,
  textEl,
  UUID,
  zonedTime,
} from './marketplace-ui.js';
import { showOrderPayments } from './order-payments.js';
import { ChatPanel } from './chat-panel.js';
import { clearProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';
import { withStepUp } from './step-up.js';

/**
 * One repair order (`/repair-order.html?id=`), for both parties. The owner follows it live (the
 * timeline is re-read on every `service_status_change`/`booking_update` event for it), decides on the
 * estimate per line, and reviews the shop once the car is delivered. The shop's staff see the next
 * steps their side may take: confirm, check in (odometer), write the estimate (the editor page), and
 * the plain moves of the lifecycle (docs/bookings.md) through `POST /api/repair-orders/:id/transitions`.
 */

/** Moves made on another route than `/transitions` (api/src/repair-orders/lifecycle.ts TRANSITION_ROUTES). */
const OWN_ROUTE = new Set(['confirmed', 'cancelled', 'checked_in', 'estimate_sent', 'approved', 'declined']);

/** The shop's usual next moves per status, when the API does not list them (docs/marketplace.md). */
const SHOP_NEXT: Record<string, string[]> = {
  requested: ['confirmed', 'cancelled'],
  confirmed: ['checked_in', 'no_show', 'cancelled'],
  checked_in: ['diagnosis', 'estimate_sent', 'delivered_without_repair'],
  diagnosis: ['estimate_sent', 'delivered_without_repair'],
  approved: ['in_progress'],
  declined: ['estimate_sent', 'in_progress', 'delivered_without_repair'],
  in_progress: ['quality_check', 'waiting_parts', 'waiting_customer', 'sublet', 'estimate_sent'],
  waiting_parts: ['in_progress'],
  waiting_customer: ['in_progress'],
  sublet: ['in_progress'],
  quality_check: ['ready_for_pickup', 'in_progress'],
  ready_for_pickup: ['delivered'],
  delivered: ['closed'],
  delivered_without_repair: ['closed'],
};

function actorText(i18n: Translator, actor: string): string {
  const kind = actor.startsWith('user:')
    ? 'user'
    : actor.startsWith('key:')
      ? 'key'
      : actor === 'system'
        ? 'system'
        : 'admin';
  return i18n.t('marketplace.order.actor', { kind });
}

function timelineItem(i18n: Translator, e: RepairOrder['events'][number], timeZone: string): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.testid = 'timeline-event';
  li.dataset.to = e.to;
  const time = document.createElement('time');
  time.dateTime = e.at;
  time.textContent = zonedTime(i18n, e.at, timeZone);
  time.translate = false; // worded by the locale's Intl data
  li.append(
    textEl('strong', statusName(i18n, e.to)),
    ' ',
    time,
    ' ',
    textEl('span', actorText(i18n, e.actor), 'muted'),
  );
  if (e.note) li.append(dataText('p', e.note, 'muted'));
  return li;
}

interface View {
  i18n: Translator;
  order: RepairOrder;
  shop: ShopProfile | null;
  asShop: boolean;
  asCustomer: boolean;
  reload: () => Promise<void>;
}

function estimateBox(v: View, e: Estimate): HTMLElement {
  const { i18n } = v;
  const box = document.createElement('article');
  box.className = 'estimate';
  box.dataset.testid = 'estimate';
  box.dataset.estimateId = e.id;
  box.dataset.status = e.status;
  const head = textEl(
    'h3',
    e.supplemental ? i18n.t('marketplace.estimate.supplemental') : i18n.t('marketplace.estimate.title'),
  );
  const deciding = v.asCustomer && v.order.status === 'estimate_sent' && e.status === 'sent';
  const table = document.createElement('table');
  table.className = 'estimate-lines';
  const header = document.createElement('tr');
  for (const key of ['line', 'quantity', 'total', ...(deciding ? ['decision'] : [])] as const)
    header.append(textEl('th', i18n.t('marketplace.estimate.column', { column: key })));
  table.append(header);
  const choices = new Map<string, () => 'approved' | 'declined'>();
  for (const line of e.lines) {
    const row = document.createElement('tr');
    row.dataset.testid = 'estimate-line';
    row.dataset.lineId = line.id;
    const what = document.createElement('td');
    what.append(
      textEl('span', i18n.t('marketplace.estimate.kind', { kind: line.kind }), 'muted'),
      ' ',
      dataText('span', line.description),
    );
    row.append(
      what,
      dataText('td', i18n.number(line.quantity)),
      dataText('td', money(i18n, line.totalMinor, e.currency)),
    );
    if (deciding) {
      const cell = document.createElement('td');
      const select = document.createElement('select');
      select.dataset.testid = 'line-decision';
      select.setAttribute('aria-label', i18n.t('marketplace.estimate.decisionFor', { line: line.description }));
      for (const d of ['approved', 'declined'] as const) {
        const option = textEl('option', i18n.t('marketplace.estimate.decision', { decision: d }));
        option.value = d;
        select.append(option);
      }
      cell.append(select);
      row.append(cell);
      choices.set(line.id, () => select.value as 'approved' | 'declined');
    } else if (line.decision) {
      row.dataset.decision = line.decision;
      what.append(' ', textEl('span', i18n.t('marketplace.estimate.decision', { decision: line.decision }), 'badge'));
    }
    table.append(row);
  }
  const totals = document.createElement('p');
  totals.className = 'estimate-totals';
  totals.dataset.testid = 'estimate-total';
  totals.textContent = i18n.t('marketplace.estimate.totals', {
    net: money(i18n, e.netMinor, e.currency),
    tax: money(i18n, e.taxMinor, e.currency),
    total: money(i18n, e.totalMinor, e.currency),
  });
  box.append(head, table, totals);
  if (deciding) {
    const send = button(
      i18n.t('marketplace.estimate.sendDecision'),
      () => {
        send.disabled = true;
        const error = el('error');
        clearProblem(error);
        const lines = [...choices].map(([lineId, value]) => ({ lineId, decision: value() }));
        withStepUp(i18n, () => decideEstimate(e.id, lines))
          .then(v.reload)
          .catch((err: unknown) => showProblem(error, err, i18n))
          .finally(() => {
            send.disabled = false;
          });
      },
      'send-decision',
      '',
    );
    box.append(send);
  }
  return box;
}

function showShopActions(v: View): void {
  const { i18n, order } = v;
  const panel = el('shop-actions');
  panel.hidden = !v.asShop;
  if (!v.asShop) return;
  // A move in flight disabled them; the order as it is now decides which are shown.
  for (const b of panel.querySelectorAll('button')) b.disabled = false;
  const next = (order.transitions ?? SHOP_NEXT[order.status] ?? []).filter((s) => s !== 'approved' && s !== 'declined');
  const error = el('error');
  const act = (work: () => Promise<unknown>) => (): void => {
    clearProblem(error);
    for (const b of panel.querySelectorAll('button')) b.disabled = true;
    work()
      .then(v.reload)
      .catch((err: unknown) => {
        showProblem(error, err, i18n);
        for (const b of panel.querySelectorAll('button')) b.disabled = false;
      });
  };
  const buttons: HTMLElement[] = [];
  for (const to of next) {
    if (to === 'checked_in' || to === 'estimate_sent') continue; // the form and the editor below
    const label = i18n.t('shop.order.moveTo', { status: statusName(i18n, to) });
    const work =
      to === 'confirmed'
        ? () => apiRequest('POST', `/api/bookings/${encodeURIComponent(order.bookingId)}/confirm`, {})
        : to === 'cancelled'
          ? () => apiRequest('POST', `/api/bookings/${encodeURIComponent(order.bookingId)}/cancel`, {})
          : OWN_ROUTE.has(to)
            ? null
            : () => moveRepairOrder(order.id, to);
    if (!work) continue;
    const b = button(
      label,
      act(work),
      `move-${to}`,
      to === 'cancelled' || to === 'no_show' ? 'secondary danger' : 'secondary',
    );
    b.dataset.to = to;
    buttons.push(b);
  }
  el('transitions').replaceChildren(...buttons);
  const form = el<HTMLFormElement>('check-in-form');
  form.hidden = !next.includes('checked_in');
  const editor = el<HTMLAnchorElement>('estimate-editor-link');
  editor.hidden = !next.includes('estimate_sent');
  editor.href = keepLang(`/estimate-editor.html?order=${encodeURIComponent(order.id)}`);
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const km = Number(el<HTMLInputElement>('check-in-odometer').value);
    const note = el<HTMLInputElement>('check-in-note').value.trim();
    act(() => checkIn(order.id, km, note || undefined))();
  };
}

/** A shop waiting for the customer (waiting_customer): the customer answers and the work goes on. */
function showCustomerActions(v: View): void {
  const section = el('customer-actions');
  section.hidden = !(v.asCustomer && (v.order.transitions ?? []).includes('in_progress'));
  const form = el<HTMLFormElement>('resume-form');
  const submit = el<HTMLButtonElement>('resume');
  submit.disabled = false;
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const error = el('error');
    clearProblem(error);
    submit.disabled = true;
    resumeRepairOrder(v.order.id, el<HTMLInputElement>('resume-note').value.trim() || undefined)
      .then(v.reload)
      .catch((err: unknown) => {
        submit.disabled = false;
        showProblem(error, err, v.i18n);
      });
  };
}

function showReview(v: View): void {
  const section = el('review');
  section.hidden = !(v.asCustomer && (v.order.status === 'delivered' || v.order.status === 'closed'));
  const form = el<HTMLFormElement>('review-form');
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const error = el('error');
    clearProblem(error);
    const rating = Number(new FormData(form).get('rating') ?? 5);
    const submit = el<HTMLButtonElement>('review-submit');
    submit.disabled = true;
    postReview(v.order.bookingId, rating, el<HTMLTextAreaElement>('review-text').value.trim())
      .then(() => {
        form.hidden = true;
        el('review-done').hidden = false;
      })
      .catch((err: unknown) => {
        submit.disabled = false;
        showProblem(error, err, v.i18n);
      });
  };
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  const error = el('error');
  const id = param('id');
  const session = await startSessionNav(i18n, { requireSession: true });
  if (!UUID.test(id)) {
    showProblem(error, new Error(i18n.t('marketplace.order.missing')), i18n);
    return;
  }
  let shop: ShopProfile | null = null;
  const connection = el('connection');
  let bookingId = '';
  let side = '';

  const reload = async (): Promise<void> => {
    const order = await loadRepairOrder(id);
    if (!shop || shop.id !== order.partnerId) shop = await loadShop(order.partnerId).catch(() => null);
    const timeZone = shop?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    // The API says which side of the order the caller is on.
    const asShop = order.side === 'shop';
    const asCustomer = order.side === 'customer';
    side = order.side ?? '';
    const view: View = { i18n, order, shop, asShop, asCustomer, reload };

    const status = el('order-status');
    status.dataset.status = order.status;
    bookingId = order.bookingId;
    setText(status, i18n.t('marketplace.order.status', { status: statusName(i18n, order.status) }));
    const facts: string[] = [];
    if (shop) facts.push(shop.name);
    if (order.startsAt) facts.push(zonedTime(i18n, order.startsAt, timeZone));
    const factsEl = el('order-facts');
    factsEl.translate = false;
    setText(factsEl, facts.join(' · '));
    const back = el<HTMLAnchorElement>('back');
    if (asShop) {
      back.href = keepLang('/jobs.html');
      setText(back, i18n.t('shop.back.jobs'));
    }

    // Why the car comes in, for both sides: the codes or alert the owner booked from.
    const source = el('order-source');
    const booking = order.bookingId ? await loadBooking(order.bookingId).catch(() => null) : null;
    if (booking && booking.source.kind !== 'manual') {
      const parts: (Node | string)[] = [
        textEl('span', i18n.t('marketplace.order.source', { kind: booking.source.kind })),
        ' ',
      ];
      if (booking.source.codes.length) parts.push(dataText('strong', booking.source.codes.join(', ')), ' ');
      if (booking.source.explanation) {
        const explanation = textEl('span', booking.source.explanation, 'muted');
        explanation.dataset.from = 'api';
        parts.push(explanation);
      }
      source.replaceChildren(...parts);
      source.hidden = false;
    }
    // Newest first, by the time of each change (a stable sort keeps the API's order within one moment).
    const timeline = [...order.events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)).reverse();
    el('timeline').replaceChildren(...timeline.map((e) => timelineItem(i18n, e, timeZone)));
    const estimates = await listEstimates(order.id).catch(() => [] as Estimate[]);
    const visible = asShop ? estimates : estimates.filter((e) => e.status !== 'draft');
    el('estimates').replaceChildren(...visible.map((e) => estimateBox(view, e)));
    el('estimates-empty').hidden = visible.length > 0;
    showShopActions(view);
    showCustomerActions(view);
    showReview(view);
    await showOrderPayments(i18n, order);
  };

  try {
    await reload();
  } catch (err) {
    setText(el('order-status'), i18n.t('marketplace.order.loadFailed'));
    showProblem(error, err, i18n);
    return;
  }
  // The owner and the shop talk about the repair in the booking's chat (docs/chat.md).
  const user = session.me?.user;
  if (user && bookingId !== '' && (side === 'shop' || side === 'customer'))
    void new ChatPanel(el('chat'), i18n, user.id).start(bookingId);
  // Events can come in bursts (a decision moves lines and the order): re-read serially.
  const refresh = serialRefresher(reload, (err) => showProblem(error, err, i18n));
  void connectMarketplaceLive(
    (_event, payload) => {
      if (payload.repairOrderId === id || (bookingId !== '' && payload.bookingId === bookingId)) refresh();
    },
    (s) => {
      // Events missed while offline are not replayed: re-read the order when the connection is back.
      if (s === 'live' && connection.dataset.state !== 'live') refresh();
      connection.dataset.state = s;
      setText(connection, i18n.t(s === 'live' ? 'marketplace.live.live' : 'marketplace.live.offline'));
    },
  ).catch(() => undefined);
}

void main();
