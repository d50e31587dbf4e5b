import type { Translator } from '@clutch/i18n';
import { keepLang, setText, startPageLocale } from './locale.js';
import {
  listBookings,
  listRepairOrders,
  listResources,
  loadShop,
  type Booking,
  type Resource,
  type ShopProfile,
} from './marketplace-api.js';
import {
  addDays,
  connectMarketplaceLive,
  serialRefresher,
  dataText,
  el,
  param,
  textEl,
  UUID,
  zonedDay,
  zonedInstant,
  zonedTime,
} from './marketplace-ui.js';
import { clearProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';

/**
 * The shop's calendar (`/calendar.html?shop=&day=`): its bays, lifts, technicians and equipment as rows,
 * the hours of a day or the days of a week as columns, in the shop's time zone; each booking shown
 * in the rows of the resources it reserved. Re-read on every `booking_update`.
 */

const DAY_HOURS = { from: 7, to: 19 };
/** Bookings a calendar should show: the ones that hold their resources. */
const LIVE = new Set(['held', 'requested', 'confirmed']);

type Mode = 'day' | 'week';

interface Column {
  label: string;
  from: Date;
  to: Date;
}

function columnsOf(i18n: Translator, mode: Mode, day: string, timeZone: string): Column[] {
  if (mode === 'day') {
    const cols: Column[] = [];
    for (let h = DAY_HOURS.from; h < DAY_HOURS.to; h++) {
      const from = zonedInstant(day, h, timeZone);
      cols.push({
        label: zonedTime(i18n, from.toISOString(), timeZone, 'time'),
        from,
        to: zonedInstant(day, h + 1, timeZone),
      });
    }
    return cols;
  }
  return Array.from({ length: 7 }, (_, i) => {
    const d = addDays(day, i);
    const from = zonedInstant(d, 0, timeZone);
    return {
      label: zonedTime(i18n, zonedInstant(d, 12, timeZone).toISOString(), timeZone, 'date'),
      from,
      to: zonedInstant(addDays(d, 1), 0, timeZone),
    };
  });
}

function bookingChip(i18n: Translator, b: Booking, timeZone: string, orderOf: Map<string, string>): HTMLElement {
  const orderId = orderOf.get(b.id);
  const chip = orderId ? document.createElement('a') : document.createElement('span');
  chip.className = 'booking-chip';
  chip.dataset.testid = 'booking';
  chip.dataset.bookingId = b.id;
  chip.dataset.status = b.status;
  if (chip instanceof HTMLAnchorElement) chip.href = keepLang(`/repair-order.html?id=${encodeURIComponent(orderId!)}`);
  chip.textContent = i18n.t('shop.calendar.booking', {
    from: zonedTime(i18n, b.startsAt, timeZone, 'time'),
    to: zonedTime(i18n, b.endsAt, timeZone, 'time'),
    status: b.status,
  });
  return chip;
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  await startSessionNav(i18n, { requireSession: true });
  const error = el('error');
  const status = el('status');
  const table = el<HTMLTableElement>('calendar');

  // Which shop: `?shop=`, else the shop of the organisation's repair orders.
  let shopId = param('shop');
  if (!UUID.test(shopId)) {
    const orders = await listRepairOrders({ limit: '1' }).catch(() => []);
    shopId = orders[0]?.partnerId ?? '';
  }
  if (!UUID.test(shopId)) {
    setText(status, i18n.t('shop.calendar.noShop'));
    return;
  }
  let shop: ShopProfile;
  let resources: Resource[];
  try {
    [shop, resources] = await Promise.all([loadShop(shopId), listResources(shopId)]);
  } catch (err) {
    setText(status, i18n.t('shop.calendar.loadFailed'));
    showProblem(error, err, i18n);
    return;
  }
  let mode: Mode = param('view') === 'week' ? 'week' : 'day';
  let day = /^\d{4}-\d{2}-\d{2}$/.test(param('day')) ? param('day') : zonedDay(new Date(), shop.timeZone);

  const render = async (): Promise<void> => {
    const cols = columnsOf(i18n, mode, day, shop.timeZone);
    const from = cols[0]!.from.toISOString();
    const to = cols.at(-1)!.to.toISOString();
    const [bookings, orders] = await Promise.all([
      listBookings({ partnerId: shop.id, from, to, order: 'asc', limit: '100' }),
      listRepairOrders({ partnerId: shop.id, limit: '100' }).catch(() => []),
    ]);
    clearProblem(error);
    const orderOf = new Map(orders.map((o) => [o.bookingId, o.id]));
    const live = bookings.filter((b) => LIVE.has(b.status));
    const head = document.createElement('tr');
    head.append(textEl('th', i18n.t('shop.calendar.resource')), ...cols.map((c) => dataText('th', c.label)));
    const rows = [...resources.filter((r) => r.active), null].map((r) => {
      const row = document.createElement('tr');
      row.dataset.testid = 'resource-row';
      if (r) row.dataset.resourceId = r.id;
      const name = document.createElement('th');
      name.scope = 'row';
      if (r)
        name.append(
          dataText('span', r.name),
          ' ',
          textEl('small', i18n.t('shop.calendar.kind', { kind: r.kind }), 'muted'),
        );
      else name.append(textEl('span', i18n.t('shop.calendar.unassigned')));
      row.append(name);
      for (const c of cols) {
        const cell = document.createElement('td');
        for (const b of live) {
          const inRow = r ? b.resources.some((x) => x.id === r.id) : b.resources.length === 0;
          const overlaps = Date.parse(b.startsAt) < c.to.getTime() && Date.parse(b.endsAt) > c.from.getTime();
          // A booking over several hours is shown once, in the column where it starts (or the first one).
          const startsHere = Date.parse(b.startsAt) >= c.from.getTime() || c === cols[0];
          if (inRow && overlaps && startsHere) cell.append(bookingChip(i18n, b, shop.timeZone, orderOf));
          else if (inRow && overlaps) cell.classList.add('busy');
        }
        row.append(cell);
      }
      return row;
    });
    // No unassigned row when every booking names its resources.
    const last = rows.at(-1)!;
    if (!last.querySelector('[data-testid="booking"]')) rows.pop();
    const caption = textEl('caption', i18n.t('shop.calendar.caption', { shop: shop.name, zone: shop.timeZone }));
    caption.translate = false;
    table.replaceChildren(caption, head, ...rows);
    setText(status, i18n.t('shop.calendar.count', { count: live.length }));
    el('view-day').setAttribute('aria-pressed', String(mode === 'day'));
    el('view-week').setAttribute('aria-pressed', String(mode === 'week'));
  };
  const show = serialRefresher(render, (err) => showProblem(error, err, i18n));
  el('view-day').addEventListener('click', () => ((mode = 'day'), show()));
  el('view-week').addEventListener('click', () => ((mode = 'week'), show()));
  el('previous').addEventListener('click', () => ((day = addDays(day, mode === 'day' ? -1 : -7)), show()));
  el('next').addEventListener('click', () => ((day = addDays(day, mode === 'day' ? 1 : 7)), show()));
  show();
  await connectMarketplaceLive(
    (event) => {
      if (event === 'booking_update') show();
    },
    () => undefined,
  ).catch(() => undefined);
}

void main();
