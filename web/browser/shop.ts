import type { Translator } from '@clutch/i18n';
import { apiRequest, getJson, type Vehicle } from './api.js';
import { keepLang, startPageLocale } from './locale.js';
import {
  confirmHold,
  holdSlot,
  loadShop,
  loadSlots,
  type Booking,
  type BookingRequest,
  type ShopProfile,
  type ShopService,
  type Slot,
} from './marketplace-api.js';
import {
  button,
  dataText,
  el,
  money,
  param,
  serviceName,
  textEl,
  UUID,
  zonedDay,
  zonedTime,
} from './marketplace-ui.js';
import { clearProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';
import { startPaymentStep } from './shop-payment.js';

/**
 * A shop's profile and booking (`/shop.html?id=<shop>&vehicle=&service=&codes=&alert=`): its services
 * and prices, opening hours (in the shop's time zone, which the page says), free slots per day for the
 * chosen service, then hold -> confirm. A hold keeps the slot for a few minutes while the owner checks
 * out; confirming turns it into a booking request (with the car's codes or alert when the owner came
 * from the dashboard), and the page links to the repair order it created.
 */

const DAYS_SHOWN = 7;
/** ISO weekdays 1..7 (Monday first), as the `marketplace.weekday` message selects them. */
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function priceText(i18n: Translator, s: ShopService): string {
  if (s.priceMinor === null || s.priceKind === 'quote') return i18n.t('marketplace.price.quote');
  const price = money(i18n, s.priceMinor, s.currency);
  return s.priceKind === 'hourly'
    ? i18n.t('marketplace.price.hourly', { price })
    : i18n.t('marketplace.price.fixed', { price });
}

function showProfile(shop: ShopProfile, i18n: Translator): void {
  const name = el('shop-name');
  name.textContent = shop.name;
  name.translate = false;
  document.title = i18n.t('marketplace.shop.vehicleDocumentTitle', { shop: shop.name });
  const facts = el('shop-facts');
  const parts = [
    shop.ratingCount > 0 && shop.ratingAvg !== null
      ? i18n.t('marketplace.rating', { rating: shop.ratingAvg, count: shop.ratingCount })
      : i18n.t('marketplace.rating.none'),
  ];
  if (shop.openNow !== null) parts.push(i18n.t(shop.openNow ? 'marketplace.openNow' : 'marketplace.closedNow'));
  if (shop.labourRateMinor !== null)
    parts.push(i18n.t('marketplace.shop.labourRate', { price: money(i18n, shop.labourRateMinor, shop.currency) }));
  facts.textContent = parts.join(' · ');
  const address = [shop.address?.line1, shop.address?.postalCode, shop.address?.city].filter(Boolean).join(', ');
  if (address) facts.after(dataText('p', address, 'muted'));

  el('services').replaceChildren(
    ...shop.services.map((s) => {
      const li = document.createElement('li');
      li.dataset.testid = 'service';
      li.dataset.code = s.code;
      const title = textEl('strong', serviceName(i18n, s.code, s.name));
      li.append(
        title,
        textEl('span', priceText(i18n, s), 'service-price'),
        textEl('span', i18n.t('marketplace.duration', { minutes: s.durationMinutes }), 'muted'),
      );
      return li;
    }),
  );
  el('time-zone').textContent = i18n.t('marketplace.shop.timeZone', { zone: shop.timeZone });
  const hours = el('hours');
  for (let weekday = 1; weekday <= 7; weekday++) {
    const intervals = shop.openingHours.filter((h) => h.weekday === weekday);
    const dt = textEl('dt', i18n.t('marketplace.weekday', { weekday: WEEKDAYS[weekday - 1] }));
    const dd = intervals.length
      ? dataText('dd', intervals.map((h) => `${h.opens}–${h.closes}`).join(', '))
      : textEl('dd', i18n.t('marketplace.shop.closed'));
    hours.append(dt, dd);
  }
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  const nav = startSessionNav(i18n, { requireSession: true });
  const error = el('error');
  const shopId = param('id');
  if (!UUID.test(shopId)) {
    showProblem(error, new Error(i18n.t('marketplace.shop.missing')), i18n);
    return;
  }
  const codes = param('codes')
    .split(',')
    .map((c) => c.trim().toUpperCase())
    .filter(Boolean);
  const alertId = param('alert');
  if (codes.length || alertId) {
    const carried = el('carried');
    carried.textContent = codes.length
      ? i18n.t('marketplace.shops.carriedCodes', { codes: codes.join(', ') })
      : i18n.t('marketplace.shops.carriedAlert');
    carried.hidden = false;
  }
  const back = el<HTMLAnchorElement>('back');
  const backQuery = new URLSearchParams(location.search);
  backQuery.delete('id');
  back.href = keepLang(`/shops.html?${backQuery}`);

  let shop: ShopProfile;
  try {
    [shop] = await Promise.all([loadShop(shopId), nav]);
  } catch (err) {
    showProblem(error, err, i18n);
    return;
  }
  showProfile(shop, i18n);

  const vehicleSelect = el<HTMLSelectElement>('book-vehicle');
  const serviceSelect = el<HTMLSelectElement>('book-service');
  const days = el('days');
  const slotsStatus = el('slots-status');
  const slotsBox = el('slots');
  const checkout = el('checkout');
  const booked = el('booked');

  const { vehicles } = await getJson<{ vehicles: Vehicle[] }>('/api/vehicles').catch(() => ({
    vehicles: [] as Vehicle[],
  }));
  for (const v of vehicles) {
    const option = dataText('option', v.name);
    option.value = v.id;
    vehicleSelect.append(option);
  }
  if (vehicles.some((v) => v.id === param('vehicle'))) vehicleSelect.value = param('vehicle');
  for (const s of shop.services) {
    const option = textEl('option', `${serviceName(i18n, s.code, s.name)} · ${priceText(i18n, s)}`);
    option.value = s.id;
    option.dataset.code = s.code;
    serviceSelect.append(option);
  }
  const preferred =
    shop.services.find((s) => s.code === param('service')) ?? shop.services.find((s) => s.code === 'diagnostics');
  if (preferred) serviceSelect.value = preferred.id;

  // Days in the shop's time zone: a slot "on Tuesday" is Tuesday where the car will be.
  let day = zonedDay(new Date(), shop.timeZone);
  let slots: Slot[] = [];
  let hold: Booking | null = null;

  const renderDays = (): void => {
    const buttons: HTMLButtonElement[] = [];
    for (let i = 0; i < DAYS_SHOWN; i++) {
      const at = new Date(Date.now() + i * 86_400_000);
      const key = zonedDay(at, shop.timeZone);
      const b = button(zonedTime(i18n, at.toISOString(), shop.timeZone, 'date'), () => {
        day = key;
        renderDays();
        renderSlots();
      });
      b.dataset.day = key;
      b.translate = false; // a date, worded by the locale's Intl data
      b.setAttribute('aria-pressed', String(key === day));
      buttons.push(b);
    }
    days.replaceChildren(...buttons);
  };

  const renderSlots = (): void => {
    const today = slots.filter((s) => zonedDay(s.startsAt, shop.timeZone) === day);
    slotsBox.replaceChildren(
      ...today.map((s) => {
        const b = button(zonedTime(i18n, s.startsAt, shop.timeZone, 'time'), () => void take(s), 'slot');
        b.dataset.startsAt = s.startsAt;
        b.translate = false; // a time of day, worded by the locale's Intl data
        return b;
      }),
    );
    slotsStatus.textContent = today.length
      ? i18n.t('marketplace.book.slotsIn', { zone: shop.timeZone })
      : i18n.t('marketplace.book.noSlots');
  };

  // Only the newest request's slots are shown (the service can change while slots load).
  let latest = 0;
  const loadDays = async (): Promise<void> => {
    clearProblem(error);
    checkout.hidden = true;
    if (!serviceSelect.value) return;
    const mine = ++latest;
    slotsStatus.textContent = i18n.t('marketplace.book.loadingSlots');
    try {
      const found = await loadSlots(shop.id, serviceSelect.value, new Date().toISOString(), DAYS_SHOWN);
      if (mine !== latest) return;
      slots = found;
      // Open on the first day that has a slot.
      const first = slots[0];
      if (first && !slots.some((s) => zonedDay(s.startsAt, shop.timeZone) === day))
        day = zonedDay(first.startsAt, shop.timeZone);
      renderDays();
      renderSlots();
    } catch (err) {
      slotsStatus.textContent = '';
      showProblem(error, err, i18n);
    }
  };

  const request = (startsAt: string): BookingRequest => ({
    partnerId: shop.id,
    serviceId: serviceSelect.value,
    vehicleId: vehicleSelect.value,
    startsAt,
    ...(el<HTMLTextAreaElement>('book-notes').value.trim()
      ? { notes: el<HTMLTextAreaElement>('book-notes').value.trim() }
      : {}),
  });

  const take = async (slot: Slot): Promise<void> => {
    clearProblem(error);
    try {
      hold = await holdSlot(request(slot.startsAt));
      el('hold-summary').textContent = i18n.t('marketplace.book.held', {
        when: zonedTime(i18n, slot.startsAt, shop.timeZone),
        until: hold.holdExpiresAt ? zonedTime(i18n, hold.holdExpiresAt, shop.timeZone, 'time') : '',
      });
      checkout.hidden = false;
    } catch (err) {
      showProblem(error, err, i18n);
      void loadDays(); // somebody else took it: show what is free now
    }
  };

  el('confirm-booking').addEventListener('click', () => {
    if (!hold) return;
    const confirm = el<HTMLButtonElement>('confirm-booking');
    confirm.disabled = true;
    clearProblem(error);
    confirmHold(hold, request(hold.startsAt), { codes, alertId: alertId || null })
      .then((b) => {
        checkout.hidden = true;
        slotsBox.replaceChildren();
        booked.replaceChildren(
          textEl('span', i18n.t('marketplace.book.requested', { when: zonedTime(i18n, b.startsAt, shop.timeZone) })),
          ' ',
        );
        if (b.repairOrderId) {
          const a = document.createElement('a');
          a.href = keepLang(`/repair-order.html?id=${encodeURIComponent(b.repairOrderId)}`);
          a.dataset.testid = 'follow-order';
          a.textContent = i18n.t('marketplace.book.follow');
          booked.append(a);
        }
        booked.hidden = false;
        // The booking's price held by card or wallet, or paid at the shop (docs/payments.md).
        void startPaymentStep(i18n, b.id);
      })
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => {
        confirm.disabled = false;
      });
  });
  el('release-hold').addEventListener('click', () => {
    const released = hold;
    hold = null;
    checkout.hidden = true;
    // A hold expires by itself; cancelling it frees the slot for others at once.
    if (released)
      void apiRequest('POST', `/api/bookings/${encodeURIComponent(released.id)}/cancel`, {}).catch(() => undefined);
    void loadDays();
  });
  serviceSelect.addEventListener('change', () => void loadDays());
  renderDays();
  await loadDays();
}

void main();
