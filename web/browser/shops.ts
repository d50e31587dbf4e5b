import { sourceCatalogue, type Translator } from '@clutch/i18n';
import * as L from 'leaflet';
import { apiRequest, getJson, type Vehicle } from './api.js';
import { keepLang, startPageLocale } from './locale.js';
import { searchNearby, type NearbyShop } from './marketplace-api.js';
import { dataText, distance, el, money, param, textEl } from './marketplace-ui.js';
import { endPlaceholders, placeholderRows } from './placeholders.js';
import { clearProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';

/**
 * The owner finds a shop near their car (`/shops.html?vehicle=&codes=&alert=&service=`): the car's last
 * known position, nearby search with filters, a Leaflet map and the same shops as a list with distances.
 * The list is the page: the map is an extra that may fail (offline, tiles blocked), and then says so.
 * Trouble codes or an alert carried from the dashboard's "Find a repair" go on to the shop's page.
 */

/** How long the map waits for its first tile before it says the tiles could not load. */
const TILE_PATIENCE_MS = 6000;

interface Position {
  lat: number;
  lon: number;
}

/** The car's last known position: its newest GPS fix of the last year. */
async function vehiclePosition(vehicleId: string): Promise<Position | null> {
  const from = new Date(Date.now() - 365 * 86_400_000).toISOString();
  const track = await getJson<{ points: { lat: number; lon: number }[] }>(
    `/api/telematics/history?${new URLSearchParams({ vehicleId, from, limit: '1000' })}`,
  ).catch(() => ({ points: [] }));
  const last = track.points.at(-1);
  return last ? { lat: last.lat, lon: last.lon } : null;
}

function browserPosition(): Promise<Position | null> {
  return new Promise((resolve) => {
    if (!('geolocation' in navigator)) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }),
      () => resolve(null),
      { timeout: 10_000 },
    );
  });
}

/** A trouble code explained (`POST /api/obd2/error-codes`, docs/marketplace.md). */
interface CodeInterpretation {
  code: string;
  description: string | null;
  known: boolean;
  severity: string;
  repair: string | null;
  services: { code: string }[];
  cost: { currency: string; minMinor: number; maxMinor: number; shops: number } | null;
}

/**
 * What the carried codes mean, with a cost range from nearby shops' prices, and a button per suggested
 * service that filters the shops by it. The API words descriptions and repairs (`data-from="api"`).
 */
async function showInterpretation(
  i18n: Translator,
  codes: string[],
  vehicleId: string,
  at: Position | null,
  filterBy: (service: string) => void,
): Promise<void> {
  // Without a position the API prices around the car's last fix, or gives no costs: the codes are still explained.
  const answer = await apiRequest<{ codes: CodeInterpretation[] }>('POST', '/api/obd2/error-codes', {
    codes,
    ...(vehicleId ? { vehicleId } : {}),
    ...(at ? { position: { lat: at.lat, lon: at.lon } } : {}),
  });
  const items = answer.codes.map((c) => {
    const li = document.createElement('li');
    li.dataset.testid = 'code';
    li.dataset.code = c.code;
    const head = document.createElement('p');
    head.append(dataText('strong', c.code), ' ');
    const description = textEl('span', c.description ?? i18n.t('dtc.noDescription'));
    if (c.description) description.dataset.from = 'api';
    head.append(
      description,
      ' ',
      textEl('span', i18n.t('marketplace.codes.severity', { severity: c.severity }), 'badge'),
    );
    li.append(head);
    if (c.repair) {
      const repair = textEl('p', c.repair, 'muted');
      repair.dataset.from = 'api';
      li.append(repair);
    }
    if (c.cost)
      li.append(
        textEl(
          'p',
          i18n.t('marketplace.codes.cost', {
            min: money(i18n, c.cost.minMinor, c.cost.currency),
            max: money(i18n, c.cost.maxMinor, c.cost.currency),
            shops: c.cost.shops,
          }),
        ),
      );
    const actions = document.createElement('div');
    actions.className = 'actions';
    for (const s of c.services) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      b.dataset.testid = 'filter-by-service';
      b.dataset.service = s.code;
      b.textContent = i18n.t('marketplace.codes.showShops', { service: i18n.text(`marketplace.service.${s.code}`) });
      b.addEventListener('click', () => filterBy(s.code));
      actions.append(b);
    }
    li.append(actions);
    return li;
  });
  const list = el('codes');
  list.replaceChildren(...items);
  endPlaceholders(list);
  el('interpretation').hidden = items.length === 0;
}

/** Carried from the dashboard to the shop page: the car, its codes, the alert, the chosen service. */
function carriedQuery(vehicleId: string, service: string): URLSearchParams {
  const q = new URLSearchParams();
  if (vehicleId) q.set('vehicle', vehicleId);
  for (const name of ['codes', 'alert']) if (param(name)) q.set(name, param(name));
  if (service) q.set('service', service);
  return q;
}

function shopItem(shop: NearbyShop, i18n: Translator, href: string): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'shop-card';
  li.dataset.testid = 'shop';
  li.dataset.shopId = shop.id;
  const name = dataText('a', shop.name, 'shop-name');
  (name as HTMLAnchorElement).href = href;
  name.dataset.role = 'name';
  const facts = document.createElement('p');
  facts.className = 'muted shop-facts';
  const dist = textEl('span', distance(i18n, shop.distanceM));
  dist.dataset.role = 'distance';
  facts.append(dist);
  facts.append(
    ' · ',
    textEl(
      'span',
      shop.ratingCount > 0 && shop.ratingAvg !== null
        ? i18n.t('marketplace.rating', { rating: shop.ratingAvg, count: shop.ratingCount })
        : i18n.t('marketplace.rating.none'),
    ),
  );
  if (shop.openNow !== null)
    facts.append(' · ', textEl('span', i18n.t(shop.openNow ? 'marketplace.openNow' : 'marketplace.closedNow')));
  li.append(name, facts);
  if (shop.priceMinor !== null) {
    const price = textEl(
      'p',
      i18n.t(shop.priceKind === 'hourly' ? 'marketplace.price.hourly' : 'marketplace.price.from', {
        price: money(i18n, shop.priceMinor, shop.currency),
      }),
      'shop-price',
    );
    li.append(price);
  }
  const city = shop.address?.city;
  if (city) li.append(dataText('p', city, 'muted'));
  return li;
}

/** The Leaflet map, or its fallback notice when no tile arrives. */
function createMap(i18n: Translator): {
  show(center: Position, shops: NearbyShop[], hrefOf: (s: NearbyShop) => string): void;
} {
  const box = el('map');
  const fallback = el('map-fallback');
  const forced = param('tiles');
  const tiles = forced === 'off' ? '' : forced || box.dataset.tiles || '';
  const map = L.map(box, { zoomControl: false, attributionControl: true }).setView([0, 0], 2);
  L.control
    .zoom({ zoomInTitle: i18n.t('marketplace.map.zoomIn'), zoomOutTitle: i18n.t('marketplace.map.zoomOut') })
    .addTo(map);
  // The attribution names the data's owners: data, not our text.
  map.attributionControl.setPrefix(false);
  map.attributionControl.getContainer()?.setAttribute('translate', 'no');
  let loaded = false;
  const tilesFailed = (): void => {
    if (loaded) return;
    fallback.hidden = false;
    box.dataset.tileState = 'failed';
  };
  if (tiles) {
    // The API's pages send no Referer (Referrer-Policy: no-referrer); OpenStreetMap's tile policy asks for
    // one, so the tiles (only) send this site's origin, never a path.
    const layer = L.tileLayer(tiles, {
      maxZoom: 19,
      attribution: box.dataset.attribution ?? '',
      referrerPolicy: 'strict-origin',
    });
    layer.on('tileload', () => {
      loaded = true;
      fallback.hidden = true;
      box.dataset.tileState = 'loaded';
    });
    layer.on('tileerror', tilesFailed);
    layer.addTo(map);
    setTimeout(tilesFailed, TILE_PATIENCE_MS);
  } else tilesFailed();
  const markers = L.layerGroup().addTo(map);
  return {
    show(center, shops, hrefOf) {
      markers.clearLayers();
      L.circleMarker([center.lat, center.lon], { radius: 7, color: '#0f172a', fillOpacity: 0.9 })
        .bindTooltip(i18n.t('marketplace.map.yourCar'))
        .addTo(markers);
      const bounds = L.latLngBounds([[center.lat, center.lon]]);
      for (const shop of shops) {
        const marker = L.circleMarker([shop.lat, shop.lon], { radius: 8, color: '#2563eb', fillOpacity: 0.7 });
        const popup = document.createElement('a');
        popup.href = hrefOf(shop);
        popup.textContent = shop.name;
        popup.translate = false;
        marker.bindPopup(popup).addTo(markers);
        bounds.extend([shop.lat, shop.lon]);
      }
      map.fitBounds(bounds.pad(0.2), { maxZoom: 14 });
    },
  };
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  const nav = startSessionNav(i18n, { requireSession: true });
  const error = el('error');
  const status = el('status');
  const position = el('position');
  const list = el<HTMLOListElement>('shops');
  const vehicleSelect = el<HTMLSelectElement>('filter-vehicle');
  const serviceSelect = el<HTMLSelectElement>('filter-service');
  const radius = el<HTMLSelectElement>('filter-radius');
  const rating = el<HTMLSelectElement>('filter-rating');
  const sort = el<HTMLSelectElement>('filter-sort');
  const openNow = el<HTMLInputElement>('filter-open');
  const useMine = el<HTMLButtonElement>('use-my-location');

  // The catalogue's services, named by the message catalogue (one key per service code).
  for (const key of Object.keys(sourceCatalogue).filter((k) => k.startsWith('marketplace.service.'))) {
    const option = document.createElement('option');
    option.value = key.slice('marketplace.service.'.length);
    option.textContent = i18n.text(key);
    serviceSelect.append(option);
  }
  if (param('service')) serviceSelect.value = param('service');

  const codes = param('codes');
  const carriedCodes = codes
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (carriedCodes.length > 0) {
    // Their explanation comes after the car's position is looked up: its space is kept from now, a row a code.
    const codeList = el('codes');
    codeList.setAttribute('aria-busy', 'true');
    codeList.replaceChildren(...placeholderRows(carriedCodes.length));
    el('interpretation').hidden = false;
  }
  if (codes || param('alert')) {
    const carried = el('carried');
    carried.textContent = codes
      ? i18n.t('marketplace.shops.carriedCodes', { codes })
      : i18n.t('marketplace.shops.carriedAlert');
    carried.hidden = false;
  }

  const map = createMap(i18n);
  let center: Position | null = null;
  // Filters change faster than answers come: only the newest search's answer is shown.
  let latest = 0;

  const search = async (): Promise<void> => {
    if (!center) return;
    const mine = ++latest;
    clearProblem(error);
    status.textContent = i18n.t('marketplace.shops.loading');
    const here = center;
    try {
      const shops = await searchNearby({
        lat: here.lat,
        lon: here.lon,
        radiusKm: Number(radius.value),
        ...(serviceSelect.value ? { service: serviceSelect.value } : {}),
        openNow: openNow.checked,
        ...(rating.value ? { minRating: Number(rating.value) } : {}),
        sort: sort.value as 'distance' | 'rating' | 'price',
      });
      if (mine !== latest) return;
      const hrefOf = (s: NearbyShop): string =>
        keepLang(`/shop.html?id=${encodeURIComponent(s.id)}&${carriedQuery(vehicleSelect.value, serviceSelect.value)}`);
      list.replaceChildren(...shops.map((s) => shopItem(s, i18n, hrefOf(s))));
      endPlaceholders(list);
      status.textContent = i18n.t('marketplace.shops.count', { count: shops.length });
      map.show(here, shops, hrefOf);
    } catch (err) {
      if (mine !== latest) return;
      status.textContent = i18n.t('marketplace.shops.loadFailed');
      endPlaceholders(list);
      showProblem(error, err, i18n);
    }
  };

  const locate = async (): Promise<void> => {
    const vehicleId = vehicleSelect.value;
    center = vehicleId ? await vehiclePosition(vehicleId) : null;
    if (!center && param('lat') && param('lon')) center = { lat: Number(param('lat')), lon: Number(param('lon')) };
    if (carriedCodes.length > 0)
      void showInterpretation(i18n, carriedCodes, vehicleId, center, (service) => {
        serviceSelect.value = service;
        void search();
      }).catch(() => {
        // The explanation is an extra: the shops are what the page is for.
        endPlaceholders(el('codes'));
        el('interpretation').hidden = el('codes').childElementCount === 0;
      });
    if (center) {
      position.textContent = vehicleId
        ? i18n.t('marketplace.shops.nearCar', { vehicle: vehicleSelect.selectedOptions[0]?.textContent ?? '' })
        : i18n.t('marketplace.shops.nearPoint');
      await search();
    } else {
      // "Use my location" (always offered) is the way on; there is nothing to list until then.
      position.textContent = i18n.t('marketplace.shops.noPosition');
      status.textContent = '';
      endPlaceholders(list);
    }
  };

  useMine.addEventListener('click', () => {
    void browserPosition().then((p) => {
      if (!p) {
        position.textContent = i18n.t('marketplace.shops.noBrowserPosition');
        return;
      }
      center = p;
      position.textContent = i18n.t('marketplace.shops.nearYou');
      void search();
    });
  });
  for (const control of [serviceSelect, radius, rating, sort, openNow])
    control.addEventListener('change', () => void search());
  vehicleSelect.addEventListener('change', () => void locate());

  await nav;
  try {
    const { vehicles } = await getJson<{ vehicles: Vehicle[] }>('/api/vehicles');
    for (const v of vehicles) {
      const option = document.createElement('option');
      option.value = v.id;
      option.textContent = v.name;
      option.translate = false;
      vehicleSelect.append(option);
    }
    const wanted = param('vehicle');
    if (wanted && vehicles.some((v) => v.id === wanted)) vehicleSelect.value = wanted;
  } catch (err) {
    showProblem(error, err, i18n);
  }
  await locate();
}

void main();
