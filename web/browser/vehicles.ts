import { describeVehicle, getJson, timeAgo, type Vehicle } from './api.js';

const list = document.querySelector<HTMLUListElement>('[data-testid="vehicles"]');
const status = document.querySelector<HTMLElement>('[data-testid="status"]');

function card(v: Vehicle): HTMLLIElement {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.className = 'vehicle-card';
  a.href = `/dashboard.html?vehicle=${encodeURIComponent(v.id)}`;
  a.dataset.vehicleId = v.id;
  // textContent everywhere: names and VINs come from users and devices.
  const name = document.createElement('strong');
  name.textContent = v.name;
  const meta = document.createElement('span');
  meta.textContent = describeVehicle(v) || 'Unknown model';
  const vin = document.createElement('span');
  vin.className = 'vin';
  vin.textContent = v.vin ?? 'VIN not reported';
  const seen = document.createElement('span');
  seen.className = 'seen';
  const devices = v.deviceIds.length === 1 ? '1 device' : `${v.deviceIds.length} devices`;
  seen.textContent = `${devices} · ${v.lastSeenAt ? `seen ${timeAgo(v.lastSeenAt)}` : 'never seen'}`;
  a.append(name, meta, vin, seen);
  li.append(a);
  return li;
}

async function main(): Promise<void> {
  if (!list || !status) return;
  try {
    const { vehicles } = await getJson<{ vehicles: Vehicle[] }>('/api/vehicles');
    list.replaceChildren(...vehicles.map(card));
    status.textContent = vehicles.length === 0 ? 'No vehicles yet. Pair a gateway to see it here.' : `${vehicles.length} vehicle${vehicles.length === 1 ? '' : 's'}`;
  } catch (err) {
    status.textContent = `Could not load vehicles: ${err instanceof Error ? err.message : String(err)}`;
    status.className = 'error';
  }
}

void main();
