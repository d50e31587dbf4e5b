import { apiRequest, getJson } from './api.js';
import { keepLang, setText, startPageLocale } from './locale.js';
import { listRepairOrders, type RepairOrder } from './marketplace-api.js';
import { dataText, el, money, param, textEl, UUID } from './marketplace-ui.js';
import { clearProblem, PageProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';

/**
 * Parts orders (`/parts-orders.html`, issue 15 item 4): a repair center orders parts from a parts
 * shop's catalogue, for one of its repair orders (`?order=<id>` preselects it) or for the shop; the
 * parts shop sees the orders that come in and accepts and ships them; the repair center confirms the
 * delivery. The moves are the API's (`api/src/parts-orders/state.ts`): the page offers each side the
 * moves the state machine gives it, and the API decides.
 */

interface PartsOrder {
  id: string;
  partnerId: string;
  supplierPartnerId: string;
  repairOrderId: string | null;
  status: string;
  currency: string;
  totalMinor: number;
  tracking: string | null;
  lines: { partId: string; sku: string; name: string; quantity: number; unitPriceMinor: number }[];
}

interface Shop {
  id: string;
  tenantId: string;
  name: string;
  kinds: string[];
}

interface Part {
  id: string;
  sku: string;
  name: string;
  brand: string;
  priceMinor: number;
  currency: string;
  stock: number;
  active: boolean;
}

type Side = 'buyer' | 'supplier';
type Action = 'accept' | 'ship' | 'deliver' | 'cancel';

/** Which moves each side has from each status (the API's state machine, for the buttons only). */
const MOVES: Record<Side, Record<string, Action[]>> = {
  supplier: { ordered: ['accept', 'cancel'], accepted: ['ship', 'cancel'] },
  buyer: { ordered: ['cancel'], shipped: ['deliver'] },
};

/** Repair orders a part can still be ordered for. */
const OPEN_REPAIR_ORDER = new Set([
  'requested',
  'confirmed',
  'checked_in',
  'diagnosis',
  'estimate_sent',
  'approved',
  'in_progress',
  'waiting_parts',
  'waiting_customer',
  'sublet',
  'quality_check',
]);

async function listShops(query: Record<string, string>): Promise<Shop[]> {
  const answer = await getJson<{ partners: Shop[] }>(
    `/api/partners?${new URLSearchParams({ limit: '100', ...query })}`,
  );
  return answer.partners;
}

function option(value: string, text: string, isData: boolean): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  if (isData) o.translate = false;
  return o;
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  const session = await startSessionNav(i18n, { requireSession: true });
  const error = el('error');
  const status = el('status');
  const form = el<HTMLFormElement>('order-form');
  const repairOrderSelect = el<HTMLSelectElement>('repair-order');
  const supplierSelect = el<HTMLSelectElement>('supplier');
  const catalogue = el('catalogue');
  const notes = el<HTMLInputElement>('notes');
  const incoming = el('incoming');
  const placed = el('placed');

  const held = new Set(session.me?.permissions ?? []);
  const canWrite = held.has('*') || held.has('parts-orders:write');
  const tenantId = session.me?.user?.tenantId;
  const mine = tenantId ? await listShops({ tenantId }).catch(() => []) : [];
  const mineIds = new Set(mine.map((s) => s.id));
  const suppliers = (await listShops({ kind: 'parts_shop' })).filter((s) => !mineIds.has(s.id));
  const names = new Map([...mine, ...suppliers].map((s) => [s.id, s.name]));
  const repairCenters = mine.filter((s) => s.kinds.includes('repair_center'));
  let parts: Part[] = [];

  const shopName = async (id: string): Promise<string> => {
    let name = names.get(id);
    if (name === undefined) {
      name = await getJson<Shop>(`/api/partners/${encodeURIComponent(id)}`)
        .then((s) => s.name)
        .catch(() => id.slice(0, 8));
      names.set(id, name);
    }
    return name;
  };

  const act = async (order: PartsOrder, action: Action, tracking?: string): Promise<void> => {
    clearProblem(error);
    try {
      await apiRequest(
        'POST',
        `/api/parts-orders/${encodeURIComponent(order.id)}/${action}`,
        tracking ? { tracking } : {},
      );
      await load();
    } catch (err) {
      showProblem(error, err, i18n);
    }
  };

  const card = async (order: PartsOrder, sides: Side[]): Promise<HTMLLIElement> => {
    const li = document.createElement('li');
    li.className = 'panel parts-order';
    li.dataset.testid = 'parts-order';
    li.dataset.orderId = order.id;
    li.dataset.status = order.status;
    const head = textEl('h3', i18n.t('partsOrders.status', { status: order.status }));
    head.dataset.testid = 'parts-order-status';
    li.append(
      head,
      textEl(
        'p',
        i18n.t('partsOrders.route', {
          buyer: await shopName(order.partnerId),
          supplier: await shopName(order.supplierPartnerId),
        }),
      ),
    );
    const lines = document.createElement('ul');
    for (const l of order.lines) {
      const item = textEl('li', i18n.t('partsOrders.line', { quantity: l.quantity, name: l.name }));
      item.dataset.testid = 'parts-order-line';
      item.dataset.sku = l.sku;
      lines.append(item);
    }
    const total = dataText('p', money(i18n, order.totalMinor, order.currency));
    total.dataset.testid = 'parts-order-total';
    li.append(lines, total);
    if (order.repairOrderId) {
      const link = document.createElement('a');
      link.href = keepLang(`/repair-order.html?id=${encodeURIComponent(order.repairOrderId)}`);
      link.dataset.testid = 'parts-order-repair-order';
      link.textContent = i18n.t('partsOrders.repairOrderLink');
      li.append(link);
    }
    if (order.tracking) {
      const tracking = textEl('p', i18n.t('partsOrders.tracking', { tracking: order.tracking }), 'muted');
      tracking.dataset.testid = 'parts-order-tracking';
      li.append(tracking);
    }
    const actions = [...new Set(sides.flatMap((side) => MOVES[side][order.status] ?? []))];
    if (canWrite && actions.length > 0) {
      const bar = document.createElement('div');
      bar.className = 'actions';
      let trackingInput: HTMLInputElement | undefined;
      if (actions.includes('ship')) {
        trackingInput = document.createElement('input');
        trackingInput.type = 'text';
        trackingInput.maxLength = 200;
        trackingInput.dataset.testid = 'tracking';
        trackingInput.setAttribute('aria-label', i18n.t('partsOrders.trackingLabel'));
        trackingInput.placeholder = i18n.t('partsOrders.trackingLabel');
        bar.append(trackingInput);
      }
      for (const action of actions) {
        const button = textEl(
          'button',
          i18n.t('partsOrders.action', { action }),
          action === 'cancel' ? 'secondary' : '',
        );
        button.type = 'button';
        button.dataset.testid = `action-${action}`;
        button.addEventListener('click', () => {
          button.disabled = true;
          void act(order, action, action === 'ship' ? trackingInput?.value.trim() : undefined);
        });
        bar.append(button);
      }
      li.append(bar);
    }
    return li;
  };

  async function load(): Promise<void> {
    const { partsOrders } = await getJson<{ partsOrders: PartsOrder[] }>('/api/parts-orders?limit=100');
    // Orders to this organisation's parts shops come in; its repair centers' go out. Platform staff
    // (neither side) see every order as incoming, with both sides' moves.
    const incomingOrders = partsOrders.filter((o) => mineIds.has(o.supplierPartnerId) || !mineIds.has(o.partnerId));
    const placedOrders = partsOrders.filter((o) => mineIds.has(o.partnerId));
    const sidesOf = (o: PartsOrder): Side[] => {
      const sides: Side[] = [];
      if (mineIds.has(o.partnerId)) sides.push('buyer');
      if (mineIds.has(o.supplierPartnerId)) sides.push('supplier');
      return sides.length > 0 ? sides : ['supplier', 'buyer'];
    };
    const fill = async (list: HTMLElement, orders: PartsOrder[]): Promise<void> => {
      const cards = await Promise.all(orders.map((o) => card(o, sidesOf(o))));
      list.replaceChildren(...(cards.length > 0 ? cards : [textEl('li', i18n.t('partsOrders.none'), 'muted')]));
    };
    await fill(incoming, incomingOrders);
    await fill(placed, placedOrders);
    setText(status, i18n.t('partsOrders.count', { count: partsOrders.length }));
  }

  const showCatalogue = async (): Promise<void> => {
    const supplier = supplierSelect.value;
    parts = [];
    catalogue.replaceChildren();
    if (!UUID.test(supplier)) return;
    const answer = await getJson<{ parts: Part[] }>(`/api/partners/${encodeURIComponent(supplier)}/parts?limit=100`);
    parts = answer.parts.filter((p) => p.active);
    catalogue.replaceChildren(
      ...parts.map((p) => {
        const row = document.createElement('tr');
        row.dataset.testid = 'part';
        row.dataset.sku = p.sku;
        const quantity = document.createElement('input');
        quantity.type = 'number';
        quantity.min = '0';
        quantity.max = String(p.stock);
        quantity.value = '0';
        quantity.dataset.role = 'quantity';
        quantity.setAttribute('aria-label', i18n.t('partsOrders.new.quantityOf', { name: p.name }));
        const cell = (child: HTMLElement | string): HTMLTableCellElement => {
          const td = document.createElement('td');
          td.append(child);
          return td;
        };
        row.append(
          cell(dataText('span', `${p.name} · ${p.brand} · ${p.sku}`)),
          cell(dataText('span', money(i18n, p.priceMinor, p.currency))),
          cell(textEl('span', i18n.t('partsOrders.new.stock', { stock: p.stock }))),
          cell(quantity),
        );
        return row;
      }),
    );
  };

  if (canWrite && repairCenters.length > 0) {
    const openOrders = (await listRepairOrders({ limit: '100' }).catch((): RepairOrder[] => [])).filter(
      (o) => mineIds.has(o.partnerId) && OPEN_REPAIR_ORDER.has(o.status),
    );
    repairOrderSelect.replaceChildren(
      option('', i18n.t('partsOrders.new.noRepairOrder'), false),
      ...openOrders.map((o) =>
        option(o.id, `${o.serviceName ?? o.status} · ${o.vehicleId.slice(0, 8)} · ${o.id.slice(0, 8)}`, true),
      ),
    );
    const wanted = param('order');
    if (openOrders.some((o) => o.id === wanted)) repairOrderSelect.value = wanted;
    supplierSelect.replaceChildren(
      option('', i18n.t('partsOrders.new.chooseSupplier'), false),
      ...suppliers.map((s) => option(s.id, s.name, true)),
    );
    supplierSelect.addEventListener('change', () => {
      clearProblem(error);
      showCatalogue().catch((err: unknown) => showProblem(error, err, i18n));
    });
    form.hidden = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      clearProblem(error);
      const quantities = [...catalogue.querySelectorAll<HTMLInputElement>('[data-role="quantity"]')];
      const lines = parts
        .map((p, i) => ({ partId: p.id, quantity: Math.floor(Number(quantities[i]?.value ?? 0)) }))
        .filter((l) => Number.isFinite(l.quantity) && l.quantity > 0);
      if (!UUID.test(supplierSelect.value) || lines.length === 0) {
        showProblem(error, new PageProblem(i18n.t('partsOrders.new.noLines')), i18n);
        return;
      }
      const repairOrderId = repairOrderSelect.value;
      const body = {
        supplierPartnerId: supplierSelect.value,
        ...(repairOrderId ? { repairOrderId } : { partnerId: repairCenters[0]!.id }),
        ...(notes.value.trim() ? { notes: notes.value.trim() } : {}),
        lines,
      };
      const submit = el<HTMLButtonElement>('place-order');
      submit.disabled = true;
      apiRequest('POST', '/api/parts-orders', body)
        .then(async () => {
          notes.value = '';
          await showCatalogue();
          await load();
          setText(status, i18n.t('partsOrders.new.placed'));
        })
        .catch((err: unknown) => showProblem(error, err, i18n))
        .finally(() => (submit.disabled = false));
    });
  }

  try {
    await load();
  } catch (err) {
    setText(status, i18n.t('partsOrders.loadFailed'));
    showProblem(error, err, i18n);
  }
}

void main();
