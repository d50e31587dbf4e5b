import type { Translator } from '@clutch/i18n';
import { keepLang, setText, startPageLocale } from './locale.js';
import { listRepairOrders, loadShop, type RepairOrder } from './marketplace-api.js';
import {
  connectMarketplaceLive,
  dataText,
  serialRefresher,
  el,
  statusName,
  textEl,
  zonedTime,
} from './marketplace-ui.js';
import { clearProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';

/**
 * The shop's job board (`/jobs.html`): its repair orders in columns by where they are in the lifecycle,
 * live (`service_status_change`/`booking_update` re-read the board). Each card opens the order, where
 * the shop takes its next step. Closed and cancelled orders stay off the board.
 */

/** Columns of the board, each a group of lifecycle states, in the order work flows. */
const COLUMNS: { key: string; statuses: string[] }[] = [
  { key: 'new', statuses: ['requested'] },
  { key: 'booked', statuses: ['confirmed'] },
  { key: 'diagnosis', statuses: ['checked_in', 'diagnosis'] },
  { key: 'customer', statuses: ['estimate_sent', 'declined', 'waiting_customer'] },
  { key: 'work', statuses: ['approved', 'in_progress', 'waiting_parts', 'sublet', 'quality_check'] },
  { key: 'ready', statuses: ['ready_for_pickup'] },
  { key: 'done', statuses: ['delivered', 'delivered_without_repair'] },
];

function card(i18n: Translator, o: RepairOrder, timeZone: string): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'job-card';
  li.dataset.testid = 'job';
  li.dataset.orderId = o.id;
  li.dataset.status = o.status;
  const a = document.createElement('a');
  a.href = keepLang(`/repair-order.html?id=${encodeURIComponent(o.id)}`);
  a.textContent = statusName(i18n, o.status);
  const when = o.startsAt ?? o.createdAt;
  li.append(a);
  if (when) {
    const time = document.createElement('time');
    time.dateTime = when;
    time.textContent = zonedTime(i18n, when, timeZone);
    time.translate = false; // worded by the locale's Intl data
    li.append(textEl('p', i18n.t('shop.jobs.booked'), 'muted'), time);
  }
  if (o.serviceName) li.append(dataText('p', o.serviceName));
  const vehicle = document.createElement('p');
  vehicle.className = 'muted ids';
  vehicle.translate = false;
  vehicle.textContent = o.vehicleId.slice(0, 8);
  li.append(vehicle);
  return li;
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  await startSessionNav(i18n, { requireSession: true });
  const error = el('error');
  const status = el('status');
  const board = el('board');
  const connection = el('connection');

  const columns = new Map<string, HTMLOListElement>();
  board.replaceChildren(
    ...COLUMNS.map((c) => {
      const section = document.createElement('section');
      section.className = 'board-column';
      section.dataset.testid = `column-${c.key}`;
      section.append(textEl('h2', i18n.t('shop.jobs.column', { column: c.key })));
      const list = document.createElement('ol');
      list.dataset.testid = 'jobs';
      section.append(list);
      columns.set(c.key, list);
      return section;
    }),
  );

  // Times in the shop's time zone (the first order's shop; a board shows one organisation's orders).
  let timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  let zoneOf = '';
  const load = async (): Promise<void> => {
    const orders = await listRepairOrders({ limit: '100' });
    const partnerId = orders[0]?.partnerId;
    if (partnerId && partnerId !== zoneOf) {
      zoneOf = partnerId;
      timeZone = (await loadShop(partnerId).catch(() => null))?.timeZone ?? timeZone;
    }
    clearProblem(error);
    let shown = 0;
    for (const c of COLUMNS) {
      const mine = orders.filter((o) => c.statuses.includes(o.status));
      shown += mine.length;
      columns.get(c.key)!.replaceChildren(...mine.map((o) => card(i18n, o, timeZone)));
    }
    setText(status, i18n.t('shop.jobs.count', { count: shown }));
  };

  const refresh = serialRefresher(load, (err) => showProblem(error, err, i18n));
  try {
    await load();
  } catch (err) {
    setText(status, i18n.t('shop.jobs.loadFailed'));
    showProblem(error, err, i18n);
  }
  await connectMarketplaceLive(refresh, (s) => {
    if (s === 'live' && connection.dataset.state !== 'live') refresh();
    connection.dataset.state = s;
    setText(connection, i18n.t(s === 'live' ? 'marketplace.live.live' : 'marketplace.live.offline'));
  }).catch(() => undefined);
}

void main();
