import type { Translator } from '@clutch/i18n';
import { keepLang, setText, startPageLocale } from './locale.js';
import {
  createEstimate,
  loadRepairOrder,
  loadShop,
  sendEstimate,
  type Estimate,
  type EstimateLine,
  type EstimateLineInput,
  type ShopProfile,
} from './marketplace-api.js';
import { button, currencyDigits, el, money, param, textEl, toMinor, UUID } from './marketplace-ui.js';
import { clearProblem, PageProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';

/**
 * The shop's estimate editor (`/estimate-editor.html?order=<repair order>`): lines of labour (hours at
 * the shop's labour rate, or a price), parts and fees, each with its tax rate. Saving sends the lines to
 * the API, which computes every total (docs/repair-work.md has the one rounding rule; the page never
 * adds money up itself), then "Send" gives it to the customer and moves the order to estimate_sent.
 */

const KINDS: EstimateLine['kind'][] = ['labour', 'part', 'fee'];
/** A sensible default tax rate for a new line (basis points); the shop changes it per line. */
const DEFAULT_TAX_PERCENT = '19';

function lineRow(
  i18n: Translator,
  shop: ShopProfile,
  onRemove: (row: HTMLTableRowElement) => void,
): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset.testid = 'line';
  const kind = document.createElement('select');
  kind.dataset.role = 'kind';
  kind.setAttribute('aria-label', i18n.t('shop.estimate.kind'));
  for (const k of KINDS) {
    const option = textEl('option', i18n.t('marketplace.estimate.kind', { kind: k }));
    option.value = k;
    kind.append(option);
  }
  const input = (role: string, label: string, attrs: Record<string, string>): HTMLInputElement => {
    const i = document.createElement('input');
    i.dataset.role = role;
    i.setAttribute('aria-label', label);
    for (const [k, v] of Object.entries(attrs)) i.setAttribute(k, v);
    return i;
  };
  const description = input('description', i18n.t('shop.estimate.description'), {
    type: 'text',
    required: '',
    maxlength: '300',
  });
  const quantity = input('quantity', i18n.t('shop.estimate.quantity'), {
    type: 'number',
    min: '0.001',
    step: '0.001',
    value: '1',
    required: '',
  });
  const price = input('price', i18n.t('shop.estimate.unitPrice'), { type: 'text', inputmode: 'decimal', required: '' });
  const tax = input('tax', i18n.t('shop.estimate.tax'), {
    type: 'number',
    min: '0',
    max: '100',
    step: '0.01',
    value: DEFAULT_TAX_PERCENT,
  });
  // Labour is priced at the shop's rate per hour unless the shop types another price.
  const labourPrice = (): void => {
    if (kind.value !== 'labour' || price.value || shop.labourRateMinor === null) return;
    const digits = currencyDigits(shop.currency);
    price.value = (shop.labourRateMinor / 10 ** digits).toFixed(digits);
  };
  kind.addEventListener('change', labourPrice);
  labourPrice();
  const cells = [kind, description, quantity, price, tax].map((c) => {
    const td = document.createElement('td');
    td.append(c);
    return td;
  });
  const remove = document.createElement('td');
  remove.append(button(i18n.t('shop.estimate.remove'), () => onRemove(row), 'remove-line'));
  row.append(...cells, remove);
  return row;
}

function readLines(rows: HTMLTableRowElement[], currency: string, i18n: Translator): EstimateLineInput[] {
  return rows.map((row, i) => {
    const value = (role: string): string =>
      row.querySelector<HTMLInputElement | HTMLSelectElement>(`[data-role="${role}"]`)!.value;
    const unitPriceMinor = toMinor(value('price'), currency);
    if (unitPriceMinor === null) throw new PageProblem(i18n.t('shop.estimate.badPrice', { line: i + 1 }));
    const taxPercent = Number(value('tax'));
    const quantity = Number(value('quantity'));
    if (!(quantity > 0) || !(taxPercent >= 0 && taxPercent <= 100))
      throw new PageProblem(i18n.t('shop.estimate.badLine', { line: i + 1 }));
    return {
      kind: value('kind') as EstimateLine['kind'],
      description: value('description').trim(),
      quantity,
      unitPriceMinor,
      taxRateBp: Math.round(taxPercent * 100),
    };
  });
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  await startSessionNav(i18n, { requireSession: true });
  const error = el('error');
  const orderId = param('order');
  if (!UUID.test(orderId)) {
    showProblem(error, new PageProblem(i18n.t('marketplace.order.missing')), i18n);
    return;
  }
  el<HTMLAnchorElement>('back').href = keepLang(`/repair-order.html?id=${encodeURIComponent(orderId)}`);
  let shop: ShopProfile;
  try {
    const order = await loadRepairOrder(orderId);
    shop = await loadShop(order.partnerId);
  } catch (err) {
    showProblem(error, err, i18n);
    return;
  }
  const lines = el('lines');
  const rows = (): HTMLTableRowElement[] => [...lines.querySelectorAll<HTMLTableRowElement>('tr')];
  const add = (): void => {
    lines.append(lineRow(i18n, shop, (row) => row.remove()));
  };
  add();
  el('add-line').addEventListener('click', add);

  let saved: Estimate | null = null;
  const form = el<HTMLFormElement>('estimate-form');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearProblem(error);
    let input: EstimateLineInput[];
    try {
      input = readLines(rows(), shop.currency, i18n);
    } catch (err) {
      showProblem(error, err, i18n);
      return;
    }
    const save = el<HTMLButtonElement>('save');
    save.disabled = true;
    createEstimate(orderId, input)
      .then((estimate) => {
        saved = estimate;
        el('totals').textContent = i18n.t('marketplace.estimate.totals', {
          net: money(i18n, estimate.netMinor, estimate.currency),
          tax: money(i18n, estimate.taxMinor, estimate.currency),
          total: money(i18n, estimate.totalMinor, estimate.currency),
        });
        el('saved').hidden = false;
      })
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => {
        save.disabled = false;
      });
  });
  el('send').addEventListener('click', () => {
    if (!saved) return;
    const send = el<HTMLButtonElement>('send');
    send.disabled = true;
    clearProblem(error);
    sendEstimate(saved.id)
      .then(() => {
        el('sent').hidden = false;
        setText(el('status'), i18n.t('shop.estimate.sentNotice'));
        form.hidden = true;
      })
      .catch((err: unknown) => {
        send.disabled = false;
        showProblem(error, err, i18n);
      });
  });
}

void main();
