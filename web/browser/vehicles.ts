import type { Translator } from '@clutch/i18n';
import { describeVehicle, getJson, problemDetail, type Vehicle } from './api.js';
import { keepLang, startPageLocale } from './locale.js';
import { startSessionNav } from './session-nav.js';

function card(v: Vehicle, i18n: Translator): HTMLLIElement {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.className = 'vehicle-card';
  a.href = keepLang(`/dashboard.html?vehicle=${encodeURIComponent(v.id)}`);
  a.dataset.vehicleId = v.id;
  // textContent everywhere: names and VINs come from users and devices. translate="no" marks them as
  // data, for translation tools and for the pseudo-locale test alike.
  const name = document.createElement('strong');
  name.textContent = v.name;
  name.translate = false;
  const meta = document.createElement('span');
  const model = describeVehicle(v);
  meta.textContent = model || i18n.t('vehicles.card.unknownModel');
  meta.translate = !model;
  const vin = document.createElement('span');
  vin.className = 'vin';
  vin.textContent = v.vin ?? i18n.t('vehicles.card.noVin');
  vin.translate = v.vin === null;
  const seen = document.createElement('span');
  seen.className = 'seen';
  seen.textContent = i18n.t('vehicles.card.summary', {
    devices: v.deviceIds.length,
    seen: v.lastSeenAt
      ? i18n.t('vehicles.card.seen', { ago: i18n.ago(v.lastSeenAt) })
      : i18n.t('vehicles.card.neverSeen'),
  });
  a.append(name, meta, vin, seen);
  li.append(a);
  return li;
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  // The visitor's name and sign-out (or sign-in) in the top bar, the open-demo banner; signed out: to sign in.
  void startSessionNav(i18n, { requireSession: true });
  const list = document.querySelector<HTMLUListElement>('[data-testid="vehicles"]');
  const status = document.querySelector<HTMLElement>('[data-testid="status"]');
  if (!list || !status) return;
  try {
    const { vehicles } = await getJson<{ vehicles: Vehicle[] }>('/api/vehicles');
    list.replaceChildren(...vehicles.map((v) => card(v, i18n)));
    status.textContent =
      vehicles.length === 0 ? i18n.t('vehicles.empty') : i18n.t('vehicles.count', { count: vehicles.length });
  } catch (err) {
    status.textContent = i18n.t('vehicles.loadFailed', { detail: problemDetail(err, i18n) });
    status.className = 'error';
  }
}

void main();
