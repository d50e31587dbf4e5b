import { apiRequest, getJson } from './api.js';

/**
 * The marketplace routes the pages call (issue 15; docs/marketplace.md), in one place: the shapes the
 * pages read and the requests they make. The partners, bookings, repair-order, estimate and review
 * routes are other domains' (docs/partners.md, docs/bookings.md, docs/repair-work.md); when one of them
 * changes shape, this file changes, not the pages.
 */

export interface Address {
  line1?: string;
  line2?: string;
  postalCode?: string;
  city?: string;
  region?: string;
  country?: string;
}

export interface ShopService {
  id: string;
  code: string;
  name: string;
  priceKind: 'fixed' | 'hourly' | 'quote';
  priceMinor: number | null;
  currency: string;
  durationMinutes: number;
}

/** A shop as nearby search lists it. */
export interface NearbyShop {
  id: string;
  name: string;
  lat: number;
  lon: number;
  distanceM: number;
  ratingAvg: number | null;
  ratingCount: number;
  openNow: boolean | null;
  currency: string;
  timeZone: string;
  address: Address | null;
  /** The filtered service's price at this shop, when the search named a service. */
  priceKind: ShopService['priceKind'] | null;
  priceMinor: number | null;
}

export interface OpeningInterval {
  weekday: number;
  opens: string;
  closes: string;
}

export interface ShopProfile {
  id: string;
  tenantId: string;
  name: string;
  kinds: string[];
  timeZone: string;
  currency: string;
  labourRateMinor: number | null;
  lat: number | null;
  lon: number | null;
  address: Address | null;
  ratingAvg: number | null;
  ratingCount: number;
  openNow: boolean | null;
  openingHours: OpeningInterval[];
  services: ShopService[];
}

export interface Slot {
  startsAt: string;
  endsAt: string;
}

export interface Booking {
  id: string;
  status: string;
  partnerId: string;
  serviceId: string;
  vehicleId: string;
  startsAt: string;
  endsAt: string;
  holdExpiresAt: string | null;
  repairOrderId: string | null;
  resources: { id: string; kind: string; name: string }[];
  /** Why the car comes in: by hand, or the trouble codes / alert it was booked from (with the alert's explanation). */
  source: { kind: string; codes: string[]; explanation: string | null };
}

export interface RepairOrderEvent {
  from: string | null;
  to: string;
  at: string;
  actor: string;
  note: string | null;
}

export interface RepairOrder {
  id: string;
  /** The caller's side of the order (the detail answer says; lists do not). */
  side: 'shop' | 'customer' | 'system' | null;
  partnerId: string;
  bookingId: string;
  vehicleId: string;
  customerTenantId: string;
  customerUserId: string | null;
  status: string;
  statusChangedAt: string;
  createdAt: string;
  startsAt: string | null;
  serviceName: string | null;
  events: RepairOrderEvent[];
  /** The statuses the caller's side may move the order to now (when the API says). */
  transitions: string[] | null;
}

export interface EstimateLine {
  id: string;
  kind: 'labour' | 'part' | 'fee';
  description: string;
  quantity: number;
  unitPriceMinor: number;
  taxRateBp: number;
  totalMinor: number;
  decision: 'approved' | 'declined' | null;
}

export interface Estimate {
  id: string;
  repairOrderId: string;
  status: string;
  supplemental: boolean;
  currency: string;
  lines: EstimateLine[];
  netMinor: number;
  taxMinor: number;
  totalMinor: number;
}

export interface Resource {
  id: string;
  kind: 'bay' | 'lift' | 'technician' | 'equipment';
  name: string;
  skills: string[];
  active: boolean;
}

type Json = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v)
    ? v
    : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : null;

/** The array member of an answer (the API's list answers name theirs: `shops`, `bookings`, ...). */
function listOf(value: unknown): Json[] {
  return Array.isArray(value) ? (value as Json[]) : [];
}

function service(s: Json): ShopService {
  return {
    id: String(s.id),
    code: str(s.code) ?? '',
    name: str(s.name) ?? str(s.code) ?? '',
    priceKind: (str(s.priceKind) ?? 'quote') as ShopService['priceKind'],
    priceMinor: num(s.priceMinor),
    currency: str(s.currency) ?? 'EUR',
    durationMinutes: num(s.durationMinutes) ?? 60,
  };
}

function nearbyShop(s: Json): NearbyShop {
  return {
    id: String(s.id),
    name: str(s.name) ?? '',
    lat: num(s.lat) ?? 0,
    lon: num(s.lon) ?? 0,
    distanceM: num(s.distanceM) ?? 0,
    ratingAvg: num(s.ratingAvg),
    ratingCount: num(s.ratingCount) ?? 0,
    openNow: typeof s.openNow === 'boolean' ? s.openNow : null,
    currency: str(s.currency) ?? 'EUR',
    timeZone: str(s.timeZone) ?? 'UTC',
    address: (s.address as Address | null) ?? null,
    priceKind: str(s.priceKind) as NearbyShop['priceKind'],
    priceMinor: num(s.priceMinor),
  };
}

export interface NearbyQuery {
  lat: number;
  lon: number;
  radiusKm: number;
  service?: string;
  openNow?: boolean;
  minRating?: number;
  sort?: 'distance' | 'rating' | 'price';
}

export async function searchNearby(q: NearbyQuery): Promise<NearbyShop[]> {
  const params = new URLSearchParams({
    lat: String(q.lat),
    lon: String(q.lon),
    radius: String(Math.round(q.radiusKm * 1000)),
  });
  if (q.service) params.set('service', q.service);
  if (q.openNow) params.set('openNow', 'true');
  if (q.minRating) params.set('minRating', String(q.minRating));
  if (q.sort) params.set('sort', q.sort);
  const answer = await getJson<{ shops: Json[] }>(`/api/location/nearby-services?${params}`);
  return answer.shops.map(nearbyShop);
}

export async function loadShop(id: string): Promise<ShopProfile> {
  const p = await getJson<Json>(`/api/partners/${encodeURIComponent(id)}`);
  const services = listOf(p.services).map(service);
  const hours = listOf(p.openingHours).map((h) => ({
    weekday: num(h.weekday) ?? 1,
    opens: (str(h.opens) ?? '').slice(0, 5),
    closes: (str(h.closes) ?? '').slice(0, 5),
  }));
  return {
    id: String(p.id),
    tenantId: str(p.tenantId) ?? '',
    name: str(p.name) ?? '',
    kinds: Array.isArray(p.kinds) ? (p.kinds as string[]) : [],
    timeZone: str(p.timeZone) ?? 'UTC',
    currency: str(p.currency) ?? 'EUR',
    labourRateMinor: num(p.labourRateMinor),
    lat: num(p.lat),
    lon: num(p.lon),
    address: (p.address as Address | null) ?? null,
    ratingAvg: num(p.ratingAvg),
    ratingCount: num(p.ratingCount) ?? 0,
    openNow: typeof p.openNow === 'boolean' ? p.openNow : null,
    openingHours: hours,
    services,
  };
}

export async function loadSlots(partnerId: string, serviceId: string, from: string, days: number): Promise<Slot[]> {
  const params = new URLSearchParams({ serviceId, from, days: String(days) });
  const answer = await getJson<{ slots: Json[] }>(
    `/api/partners/${encodeURIComponent(partnerId)}/availability?${params}`,
  );
  return answer.slots.map((s) => ({ startsAt: String(s.startsAt), endsAt: String(s.endsAt) }));
}

/** A booking answer; the book-from-the-car route wraps it (`{ booking, share }`). */
function booking(b: Json): Booking {
  const inner = (b.booking ?? b) as Json;
  return {
    id: String(inner.id),
    status: str(inner.status) ?? '',
    partnerId: str(inner.partnerId) ?? '',
    serviceId: str(inner.serviceId) ?? '',
    vehicleId: str(inner.vehicleId) ?? '',
    startsAt: str(inner.startsAt) ?? '',
    endsAt: str(inner.endsAt) ?? '',
    holdExpiresAt: str(inner.holdExpiresAt),
    repairOrderId: str(inner.repairOrderId),
    source: {
      kind: str((inner.source as Json | undefined)?.kind) ?? 'manual',
      codes: listOf((inner.source as Json | undefined)?.codes).map(String),
      explanation: str((inner.source as Json | undefined)?.explanation),
    },
    resources: listOf(inner.resources).map((r) => ({
      id: String(r.id ?? r.resourceId),
      kind: str(r.kind) ?? '',
      name: str(r.name) ?? '',
    })),
  };
}

export interface BookingRequest {
  partnerId: string;
  serviceId: string;
  vehicleId: string;
  startsAt: string;
  notes?: string;
}

/** A short hold on a slot while the owner checks out (expires by itself). */
export async function holdSlot(input: BookingRequest): Promise<Booking> {
  const { partnerId, serviceId, vehicleId, startsAt } = input;
  return booking(await apiRequest<Json>('POST', '/api/bookings/holds', { partnerId, serviceId, vehicleId, startsAt }));
}

/** Where a booking came from: the car's trouble codes or an alert (M4's from-alert route), else by hand. */
export interface BookingSource {
  codes: string[];
  alertId: string | null;
}

/** Turns the hold into a booking request; with codes or an alert, through the book-from-the-car route. */
export async function confirmHold(hold: Booking, input: BookingRequest, source: BookingSource): Promise<Booking> {
  if (source.codes.length > 0 || source.alertId) {
    return booking(
      await apiRequest<Json>('POST', '/api/bookings/from-alert', {
        ...input,
        holdId: hold.id,
        ...(source.codes.length > 0 ? { codes: source.codes } : {}),
        ...(source.alertId ? { alertId: source.alertId } : {}),
      }),
    );
  }
  return booking(
    await apiRequest<Json>('POST', '/api/bookings', {
      holdId: hold.id,
      ...(input.notes ? { notes: input.notes } : {}),
    }),
  );
}

export async function loadBooking(id: string): Promise<Booking> {
  return booking(await getJson<Json>(`/api/bookings/${encodeURIComponent(id)}`));
}

export async function listBookings(params: Record<string, string>): Promise<Booking[]> {
  const answer = await getJson<{ bookings: Json[] }>(`/api/bookings?${new URLSearchParams(params)}`);
  return answer.bookings.map(booking);
}

function repairOrder(o: Json): RepairOrder {
  const side = str(o.side);
  return {
    id: String(o.id),
    side: side === 'shop' || side === 'customer' || side === 'system' ? side : null,
    partnerId: str(o.partnerId) ?? '',
    bookingId: str(o.bookingId) ?? '',
    vehicleId: str(o.vehicleId) ?? '',
    customerTenantId: str(o.customerTenantId) ?? '',
    customerUserId: str(o.customerUserId),
    status: str(o.status) ?? '',
    statusChangedAt: str(o.statusChangedAt) ?? '',
    createdAt: str(o.createdAt) ?? '',
    startsAt: str(o.startsAt),
    serviceName: str(o.serviceName),
    events: listOf(o.events).map((e) => ({
      from: str(e.from),
      to: String(e.to),
      at: String(e.at),
      actor: str(e.actor) ?? '',
      note: str(e.note),
    })),
    transitions: Array.isArray(o.transitions) ? (o.transitions as Json[]).map((t) => String(t.to)) : null,
  };
}

export async function listRepairOrders(params: Record<string, string>): Promise<RepairOrder[]> {
  const answer = await getJson<{ repairOrders: Json[] }>(`/api/repair-orders?${new URLSearchParams(params)}`);
  return answer.repairOrders.map(repairOrder);
}

export async function loadRepairOrder(id: string): Promise<RepairOrder> {
  return repairOrder(await getJson<Json>(`/api/repair-orders/${encodeURIComponent(id)}`));
}

export async function moveRepairOrder(id: string, to: string, note?: string): Promise<void> {
  await apiRequest('POST', `/api/repair-orders/${encodeURIComponent(id)}/transitions`, {
    to,
    ...(note ? { note } : {}),
  });
}

/** The customer tells a shop that waits for them to go on (waiting_customer -> in_progress). */
export async function resumeRepairOrder(id: string, note?: string): Promise<void> {
  await apiRequest('POST', `/api/repair-orders/${encodeURIComponent(id)}/resume`, note ? { note } : {});
}

export async function checkIn(id: string, odometerKm: number, note?: string): Promise<void> {
  await apiRequest('POST', `/api/repair-orders/${encodeURIComponent(id)}/check-in`, {
    odometerKm,
    ...(note ? { note } : {}),
  });
}

function estimate(e: Json): Estimate {
  return {
    id: String(e.id),
    repairOrderId: str(e.repairOrderId) ?? '',
    status: str(e.status) ?? '',
    supplemental: e.supplemental === true,
    currency: str(e.currency) ?? 'EUR',
    lines: listOf(e.lines).map((l) => ({
      id: String(l.id),
      kind: (str(l.kind) ?? 'fee') as EstimateLine['kind'],
      description: str(l.description) ?? '',
      quantity: num(l.quantity) ?? (num(l.quantityMilli) ?? 1000) / 1000,
      unitPriceMinor: num(l.unitPriceMinor) ?? 0,
      taxRateBp: num(l.taxRateBp) ?? 0,
      totalMinor: num(l.totalMinor) ?? 0,
      decision: (str(l.decision) as EstimateLine['decision']) ?? null,
    })),
    netMinor: num(e.netMinor) ?? 0,
    taxMinor: num(e.taxMinor) ?? 0,
    totalMinor: num(e.totalMinor) ?? 0,
  };
}

export async function listEstimates(repairOrderId: string): Promise<Estimate[]> {
  const answer = await getJson<{ estimates: Json[] }>(`/api/estimates?${new URLSearchParams({ repairOrderId })}`);
  return answer.estimates.map(estimate);
}

export interface EstimateLineInput {
  kind: EstimateLine['kind'];
  description: string;
  quantity: number;
  unitPriceMinor: number;
  taxRateBp: number;
}

export async function createEstimate(repairOrderId: string, lines: EstimateLineInput[]): Promise<Estimate> {
  return estimate(await apiRequest<Json>('POST', '/api/estimates', { repairOrderId, lines }));
}

export async function sendEstimate(id: string): Promise<Estimate> {
  return estimate(await apiRequest<Json>('POST', `/api/estimates/${encodeURIComponent(id)}/send`));
}

export async function decideEstimate(
  id: string,
  lines: { lineId: string; decision: 'approved' | 'declined' }[],
): Promise<void> {
  await apiRequest('POST', `/api/estimates/${encodeURIComponent(id)}/decision`, { lines });
}

export async function postReview(bookingId: string, rating: number, text: string): Promise<void> {
  await apiRequest('POST', '/api/reviews', { bookingId, rating, text });
}

export async function listResources(partnerId: string): Promise<Resource[]> {
  const answer = await getJson<{ resources: Json[] }>(`/api/partners/${encodeURIComponent(partnerId)}/resources`);
  return answer.resources.map((r) => ({
    id: String(r.id),
    kind: (str(r.kind) ?? 'bay') as Resource['kind'],
    name: str(r.name) ?? '',
    skills: Array.isArray(r.skills) ? (r.skills as string[]) : [],
    active: r.active !== false,
  }));
}
