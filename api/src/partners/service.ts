import type { Queryable } from '@clutch/db';
import { hasAvailability } from '../bookings/availability.js';
import type { RequestPolicy } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { Scope, SystemUse } from '../auth/scope.js';
import { apiError } from '../errors.js';
import { encodeCursor, type Page, type PageRequest } from '../http/pagination.js';
import { toIso } from '../shared/time.js';
import { checkSpecialDays, checkWeeklyHours, isIanaTimeZone, type SpecialDay, type WeeklyInterval } from './hours.js';
import {
  availableStrategies,
  hasNearestFirst,
  NEARBY_LISTINGS,
  searchNearby,
  type NearbyQuery,
  type NearbyRow,
  type NearbyStrategy,
  type WindowStats,
} from './nearby.js';
import { gridCells, gridPage } from './nearby-grid.js';
import { MAX_PHOTOS, MAX_PHOTO_BYTES, sniffImageType } from './photos.js';
import {
  adjustPartStock,
  PartnersRepository,
  type PartnerFields,
  type PartnerRow,
  type PartRow,
  type PhotoRow,
  type ServiceRow,
} from './repository.js';
import type { ServiceCode } from './service-catalogue.js';

export interface PartnersActor {
  principal: Principal;
  policy: RequestPolicy;
  scope: Scope;
  administer(use: Omit<SystemUse, 'actor' | 'ip'>): Scope;
}

export interface PartnerView {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  kinds: string[];
  timeZone: string;
  currency: string;
  labourRateMinor: number | null;
  lat: number | null;
  lon: number | null;
  address: Record<string, unknown> | null;
  phone: string | null;
  email: string | null;
  website: string | null;
  status: string;
  ratingAvg: number | null;
  ratingCount: number;
  openNow: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ServiceView {
  id: string;
  partnerId: string;
  code: string;
  name: string;
  priceKind: 'fixed' | 'hourly' | 'quote';
  priceMinor: number | null;
  currency: string;
  durationMinutes: number;
  requiredSkill: string | null;
  bufferBeforeMinutes: number;
  bufferAfterMinutes: number;
  active: boolean;
}

export interface PartView {
  id: string;
  partnerId: string;
  sku: string;
  name: string;
  brand: string;
  priceMinor: number;
  currency: string;
  stock: number;
  active: boolean;
}

export interface PhotoView {
  id: string;
  partnerId: string;
  contentType: string;
  size: number;
  caption: string;
  createdAt: string;
  /** Path below the API prefix that serves the image. */
  path: string;
}

export interface PartnerDetail extends PartnerView {
  openingHours: WeeklyInterval[];
  /** Special days from today (the shop's local date) on. */
  specialDays: Required<SpecialDay>[];
  services: ServiceView[];
  photos: PhotoView[];
}

export interface NearbyView {
  id: string;
  tenantId: string;
  name: string;
  kinds: string[];
  lat: number;
  lon: number;
  distanceM: number;
  address: Record<string, unknown> | null;
  timeZone: string;
  currency: string;
  labourRateMinor: number | null;
  ratingAvg: number | null;
  ratingCount: number;
  openNow: boolean;
  /** With a `service` filter: the shop's cheapest active offer of it. */
  serviceId: string | null;
  priceKind: string | null;
  priceMinor: number | null;
}

export const PARTNER_PAGE = { defaultLimit: 50, maxLimit: 200 } as const;
export const PART_PAGE = { defaultLimit: 100, maxLimit: 500 } as const;
export const NEARBY_PAGE = { defaultLimit: 20, maxLimit: 100 } as const;
/** With `availableWithinDays`, how many shops one page examines at most (each costs a slot computation). */
const AVAILABILITY_EXAMINED = 200;

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

export function partnerView(row: PartnerRow): PartnerView {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    description: row.description,
    kinds: row.kinds,
    timeZone: row.time_zone,
    currency: row.currency,
    labourRateMinor: row.labour_rate_minor,
    lat: row.lat,
    lon: row.lon,
    address: row.address,
    phone: row.phone,
    email: row.email,
    website: row.website,
    status: row.status,
    ratingAvg: num(row.rating_avg),
    ratingCount: row.rating_count,
    openNow: row.open_now,
    createdAt: toIso(row.created_at) ?? '',
    updatedAt: toIso(row.updated_at) ?? '',
  };
}

const serviceView = (s: ServiceRow): ServiceView => ({
  id: s.id,
  partnerId: s.partner_id,
  code: s.code,
  name: s.name,
  priceKind: s.price_kind,
  priceMinor: s.price_minor,
  currency: s.currency,
  durationMinutes: s.duration_minutes,
  requiredSkill: s.required_skill,
  bufferBeforeMinutes: s.buffer_before_minutes,
  bufferAfterMinutes: s.buffer_after_minutes,
  active: s.active,
});

const partView = (p: PartRow): PartView => ({
  id: p.id,
  partnerId: p.partner_id,
  sku: p.sku,
  name: p.name,
  brand: p.brand,
  priceMinor: p.price_minor,
  currency: p.currency,
  stock: p.stock,
  active: p.active,
});

const photoView = (p: PhotoRow): PhotoView => ({
  id: p.id,
  partnerId: p.partner_id,
  contentType: p.content_type,
  size: Number(p.size),
  caption: p.caption,
  createdAt: toIso(p.created_at) ?? '',
  path: `/partners/${p.partner_id}/photos/${p.id}`,
});

const nearbyView = (r: NearbyRow): NearbyView => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  kinds: r.kinds,
  lat: r.lat,
  lon: r.lon,
  distanceM: r.distance_m,
  address: r.address,
  timeZone: r.time_zone,
  currency: r.currency,
  labourRateMinor: r.labour_rate_minor,
  ratingAvg: num(r.rating_avg),
  ratingCount: r.rating_count,
  openNow: r.open_now,
  serviceId: r.service_id,
  priceKind: r.price_kind,
  priceMinor: r.price_minor,
});

export const partnerNotFound = (id: string): Error => apiError('PARTNER_NOT_FOUND', `No shop ${id}`, { partnerId: id });

function invalid(pointer: string, detail: string): Error {
  return apiError(
    'VALIDATION_FAILED',
    `Invalid ${pointer.split('/')[1]}: ${pointer.split('/').slice(2).join('.')}: ${detail}`,
    {
      errors: [{ pointer, detail }],
    },
  );
}

/** Platform staff (the admin token, users of the platform tenant) administer any organisation's shops. */
const isPlatform = (p: Principal): boolean => p.kind === 'admin' || (p.kind === 'user' && p.tenantId === 'platform');

/** The shop's local date (YYYY-MM-DD) at a moment. */
export function localDate(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/**
 * Shops (issue 15, item 1) and nearby search (item 2). A partner organisation's administrator
 * (`partners:write`) creates and edits its own shops in its tenant's row-level security: another
 * organisation's shop is readable in the listing but not lockable for a write, so it answers 404
 * exactly like a missing one. Platform staff edit any shop in an audited system scope. Reads are
 * the listing: any signed-in caller sees listed (`active`) shops, and an organisation its own.
 */
export class PartnersService {
  private strategy: Promise<NearbyStrategy> | undefined;

  constructor(
    private readonly options: {
      now?: () => Date;
      /** Force a nearby strategy (tests, bench); default: the best the database has. */
      nearbyStrategy?: NearbyStrategy;
    } = {},
  ) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** Where a write runs: the caller's tenant for a partner, an audited system scope for platform staff. */
  private writeScope(
    actor: PartnersActor,
    action: string,
    target: string | null,
    detail?: Record<string, unknown>,
  ): Scope {
    if (!isPlatform(actor.principal)) return actor.scope;
    return actor.administer({ action, target, ...(detail ? { detail } : {}) });
  }

  /** Locks the shop for a write by this transaction, or 404. */
  private async owned(
    repo: PartnersRepository,
    partnerId: string,
  ): Promise<{ tenant_id: string; currency: string; status: string }> {
    const shop = await repo.lockForWrite(partnerId);
    if (!shop) throw partnerNotFound(partnerId);
    return shop;
  }

  async list(
    actor: PartnersActor,
    filter: { kind?: string | undefined; tenantId?: string | undefined },
    page: PageRequest,
  ): Promise<{ partners: PartnerView[]; next: string | null }> {
    const at = this.now();
    const { items, next } = await actor.scope.run((q) => new PartnersRepository(q).list({ ...filter, at }, page));
    return { partners: items.map(partnerView), next };
  }

  async get(actor: PartnersActor, partnerId: string, at?: Date): Promise<PartnerDetail> {
    const moment = at ?? this.now();
    return actor.scope.run((q) => this.detail(q, partnerId, moment));
  }

  /** The shop with its hours, upcoming special days, active services and photos, as `q` may see them. */
  private async detail(q: Queryable, partnerId: string, at: Date): Promise<PartnerDetail> {
    const repo = new PartnersRepository(q);
    const row = await repo.get(partnerId, at);
    if (!row) throw partnerNotFound(partnerId);
    // One after the other: a transaction's queries do not run in parallel anyway.
    const openingHours = await repo.openingHours(partnerId);
    const specialDays = await repo.specialDays(partnerId, localDate(at, row.time_zone));
    const services = await repo.services(partnerId, false);
    const photos = await repo.photos(partnerId);
    return {
      ...partnerView(row),
      openingHours,
      specialDays,
      services: services.map(serviceView),
      photos: photos.map(photoView),
    };
  }

  private async checkProfile(repo: PartnersRepository, fields: PartnerFields): Promise<void> {
    if (
      fields.timeZone !== undefined &&
      !(isIanaTimeZone(fields.timeZone) && (await repo.knowsTimeZone(fields.timeZone)))
    )
      throw invalid('/body/timeZone', 'must be an IANA time zone name such as Europe/Berlin');
  }

  async create(
    actor: PartnersActor,
    input: PartnerFields & {
      tenantId?: string | undefined;
      name: string;
      kinds: string[];
      timeZone: string;
      currency: string;
    },
  ): Promise<PartnerDetail> {
    const { tenantId: requested, ...fields } = input;
    let tenantId: string;
    if (isPlatform(actor.principal)) {
      if (requested === undefined) throw invalid('/body/tenantId', 'platform staff name the organisation of the shop');
      tenantId = requested;
    } else {
      tenantId = actor.scope.tenantId!;
      if (requested !== undefined && requested !== tenantId)
        throw apiError('FORBIDDEN', 'A shop is created in your own organisation');
      if (fields.status === 'suspended') throw apiError('FORBIDDEN', 'Only the platform suspends a shop');
    }
    if (fields.status === 'active' && fields.lat === undefined)
      throw invalid('/body/lat', 'a listed (active) shop needs its position');
    return this.writeScope(actor, 'partner.created', null, { tenantId, name: input.name }).run(async (q) => {
      const repo = new PartnersRepository(q);
      const kind = await repo.tenantKind(tenantId);
      if (kind === undefined) throw apiError('TENANT_NOT_FOUND', `No tenant ${tenantId}`, { tenantId });
      if (kind !== 'partner') throw invalid('/body/tenantId', 'shops belong to partner organisations');
      await this.checkProfile(repo, fields);
      const id = await repo.insert(tenantId, fields);
      return this.detail(q, id, this.now());
    });
  }

  async update(actor: PartnersActor, partnerId: string, fields: PartnerFields): Promise<PartnerDetail> {
    return this.writeScope(actor, 'partner.updated', partnerId, { fields: Object.keys(fields) }).run(async (q) => {
      const repo = new PartnersRepository(q);
      const shop = await this.owned(repo, partnerId);
      if (
        !isPlatform(actor.principal) &&
        (fields.status === 'suspended' || shop.status === 'suspended') &&
        fields.status !== undefined
      )
        throw apiError('FORBIDDEN', 'Only the platform suspends a shop or lifts a suspension');
      await this.checkProfile(repo, fields);
      if (fields.status === 'active') {
        const row = await repo.get(partnerId, this.now());
        if ((fields.lat ?? row?.lat ?? null) === null)
          throw invalid('/body/lat', 'a listed (active) shop needs its position');
      }
      await repo.update(partnerId, fields);
      return this.detail(q, partnerId, this.now());
    });
  }

  async replaceOpeningHours(
    actor: PartnersActor,
    partnerId: string,
    hours: WeeklyInterval[],
  ): Promise<WeeklyInterval[]> {
    checkWeeklyHours(hours);
    return this.writeScope(actor, 'partner.hours-changed', partnerId).run(async (q) => {
      const repo = new PartnersRepository(q);
      const shop = await this.owned(repo, partnerId);
      await repo.replaceOpeningHours(shop.tenant_id, partnerId, hours);
      return repo.openingHours(partnerId);
    });
  }

  async replaceSpecialDays(
    actor: PartnersActor,
    partnerId: string,
    days: SpecialDay[],
  ): Promise<Required<SpecialDay>[]> {
    checkSpecialDays(days);
    return this.writeScope(actor, 'partner.special-days-changed', partnerId).run(async (q) => {
      const repo = new PartnersRepository(q);
      const shop = await this.owned(repo, partnerId);
      await repo.replaceSpecialDays(shop.tenant_id, partnerId, days);
      return repo.specialDays(partnerId, '0001-01-01');
    });
  }

  async services(
    actor: PartnersActor,
    partnerId: string,
    includeInactive: boolean,
  ): Promise<{ services: ServiceView[] }> {
    return actor.scope.run(async (q) => {
      const repo = new PartnersRepository(q);
      if (!(await repo.get(partnerId, this.now()))) throw partnerNotFound(partnerId);
      return { services: (await repo.services(partnerId, includeInactive)).map(serviceView) };
    });
  }

  async createService(
    actor: PartnersActor,
    partnerId: string,
    input: {
      code: ServiceCode;
      name: string;
      priceKind: 'fixed' | 'hourly' | 'quote';
      priceMinor?: number | undefined;
      durationMinutes: number;
      requiredSkill?: string | undefined;
      bufferBeforeMinutes?: number | undefined;
      bufferAfterMinutes?: number | undefined;
    },
  ): Promise<ServiceView> {
    checkPrice(input.priceKind, input.priceMinor);
    return this.writeScope(actor, 'partner.service-created', partnerId, { code: input.code }).run(async (q) => {
      const repo = new PartnersRepository(q);
      const shop = await this.owned(repo, partnerId);
      const row = await repo.insertService(shop.tenant_id, partnerId, {
        code: input.code,
        name: input.name,
        price_kind: input.priceKind,
        price_minor: input.priceMinor ?? null,
        currency: shop.currency,
        duration_minutes: input.durationMinutes,
        required_skill: input.requiredSkill ?? null,
        buffer_before_minutes: input.bufferBeforeMinutes ?? 0,
        buffer_after_minutes: input.bufferAfterMinutes ?? 0,
      });
      return serviceView(row);
    });
  }

  async updateService(
    actor: PartnersActor,
    partnerId: string,
    serviceId: string,
    input: {
      name?: string | undefined;
      priceKind?: 'fixed' | 'hourly' | 'quote' | undefined;
      priceMinor?: number | null | undefined;
      durationMinutes?: number | undefined;
      requiredSkill?: string | null | undefined;
      bufferBeforeMinutes?: number | undefined;
      bufferAfterMinutes?: number | undefined;
      active?: boolean | undefined;
    },
  ): Promise<ServiceView> {
    return this.writeScope(actor, 'partner.service-updated', partnerId, { serviceId }).run(async (q) => {
      const repo = new PartnersRepository(q);
      await this.owned(repo, partnerId);
      const current = await repo.service(partnerId, serviceId);
      if (!current) throw apiError('PARTNER_SERVICE_NOT_FOUND', `No service ${serviceId} at shop ${partnerId}`);
      const priceKind = input.priceKind ?? current.price_kind;
      const priceMinor =
        input.priceMinor === undefined ? (input.priceKind === 'quote' ? null : current.price_minor) : input.priceMinor;
      checkPrice(priceKind, priceMinor ?? undefined);
      const row = await repo.updateService(partnerId, serviceId, {
        name: input.name,
        price_kind: priceKind,
        price_minor: priceMinor,
        duration_minutes: input.durationMinutes,
        required_skill: input.requiredSkill,
        buffer_before_minutes: input.bufferBeforeMinutes,
        buffer_after_minutes: input.bufferAfterMinutes,
        active: input.active,
      });
      return serviceView(row!);
    });
  }

  async parts(
    actor: PartnersActor,
    partnerId: string,
    includeInactive: boolean,
    page: PageRequest,
  ): Promise<{ parts: PartView[]; next: string | null }> {
    return actor.scope.run(async (q) => {
      const repo = new PartnersRepository(q);
      if (!(await repo.get(partnerId, this.now()))) throw partnerNotFound(partnerId);
      const { items, next } = await repo.parts(partnerId, includeInactive, page);
      return { parts: items.map(partView), next };
    });
  }

  async createPart(
    actor: PartnersActor,
    partnerId: string,
    input: { sku: string; name: string; brand?: string | undefined; priceMinor: number; stock?: number | undefined },
  ): Promise<PartView> {
    return this.writeScope(actor, 'partner.part-created', partnerId, { sku: input.sku }).run(async (q) => {
      const repo = new PartnersRepository(q);
      const shop = await this.owned(repo, partnerId);
      const row = await repo.insertPart(shop.tenant_id, partnerId, {
        sku: input.sku,
        name: input.name,
        brand: input.brand ?? '',
        price_minor: input.priceMinor,
        currency: shop.currency,
        stock: input.stock ?? 0,
      });
      if (!row)
        throw apiError('PART_SKU_TAKEN', `Shop ${partnerId} already lists SKU ${input.sku}`, { sku: input.sku });
      return partView(row);
    });
  }

  async updatePart(
    actor: PartnersActor,
    partnerId: string,
    partId: string,
    input: {
      name?: string | undefined;
      brand?: string | undefined;
      priceMinor?: number | undefined;
      active?: boolean | undefined;
    },
  ): Promise<PartView> {
    return this.writeScope(actor, 'partner.part-updated', partnerId, { partId }).run(async (q) => {
      const repo = new PartnersRepository(q);
      await this.owned(repo, partnerId);
      const row = await repo.updatePart(partnerId, partId, {
        name: input.name,
        brand: input.brand,
        price_minor: input.priceMinor,
        active: input.active,
      });
      if (!row) throw partNotFound(partnerId, partId);
      return partView(row);
    });
  }

  /** Adds `delta` (negative: takes) to a part's stock, atomically; never below zero. */
  async adjustStock(actor: PartnersActor, partnerId: string, partId: string, delta: number): Promise<PartView> {
    return this.writeScope(actor, 'partner.stock-adjusted', partnerId, { partId, delta }).run(async (q) => {
      const repo = new PartnersRepository(q);
      // Not locking the shop: concurrent stock changes of different parts must not queue on it.
      const part = await repo.part(partnerId, partId);
      if (!part) throw partNotFound(partnerId, partId);
      const result = await adjustPartStock(q, partId, delta);
      // Readable in the listing but not this transaction's to change: like a missing one.
      if (result === undefined) throw partNotFound(partnerId, partId);
      if (result === 'insufficient')
        throw apiError('STOCK_INSUFFICIENT', `Part ${partId} has less than ${-delta} in stock`, { partId });
      return partView({ ...part, stock: result.stock });
    });
  }

  async photos(actor: PartnersActor, partnerId: string): Promise<{ photos: PhotoView[] }> {
    return actor.scope.run(async (q) => {
      const repo = new PartnersRepository(q);
      if (!(await repo.get(partnerId, this.now()))) throw partnerNotFound(partnerId);
      return { photos: (await repo.photos(partnerId)).map(photoView) };
    });
  }

  async addPhoto(
    actor: PartnersActor,
    partnerId: string,
    input: { data: string; caption?: string | undefined },
  ): Promise<PhotoView> {
    const bytes = Buffer.from(input.data, 'base64');
    if (bytes.length === 0 || bytes.toString('base64').replace(/=+$/, '') !== input.data.replace(/=+$/, ''))
      throw invalid('/body/data', 'must be the image, base64-encoded');
    if (bytes.length > MAX_PHOTO_BYTES)
      throw apiError('PAYLOAD_TOO_LARGE', `A photo is at most ${MAX_PHOTO_BYTES / 1024} KiB`, {
        maxBytes: MAX_PHOTO_BYTES,
      });
    const type = sniffImageType(bytes);
    if (!type) throw apiError('UNSUPPORTED_MEDIA_TYPE', 'A photo is a JPEG, PNG or WebP image');
    return this.writeScope(actor, 'partner.photo-added', partnerId, { contentType: type, size: bytes.length }).run(
      async (q) => {
        const repo = new PartnersRepository(q);
        const shop = await this.owned(repo, partnerId);
        // The shop's row lock (owned) serialises concurrent uploads, so the count holds.
        if ((await repo.photoCount(partnerId)) >= MAX_PHOTOS)
          throw apiError('PHOTO_LIMIT_REACHED', `A shop has at most ${MAX_PHOTOS} photos`, { max: MAX_PHOTOS });
        return photoView(await repo.insertPhoto(shop.tenant_id, partnerId, type, bytes, input.caption ?? ''));
      },
    );
  }

  async photo(
    actor: PartnersActor,
    partnerId: string,
    photoId: string,
  ): Promise<{ contentType: string; bytes: Buffer }> {
    const found = await actor.scope.run((q) => new PartnersRepository(q).photoBytes(partnerId, photoId));
    if (!found) throw apiError('PHOTO_NOT_FOUND', `No photo ${photoId} of shop ${partnerId}`);
    return { contentType: found.content_type, bytes: Buffer.from(found.bytes) };
  }

  async deletePhoto(actor: PartnersActor, partnerId: string, photoId: string): Promise<void> {
    await this.writeScope(actor, 'partner.photo-deleted', partnerId, { photoId }).run(async (q) => {
      const repo = new PartnersRepository(q);
      await this.owned(repo, partnerId);
      if (!(await repo.deletePhoto(partnerId, photoId)))
        throw apiError('PHOTO_NOT_FOUND', `No photo ${photoId} of shop ${partnerId}`);
    });
  }

  /** The nearby strategy this database supports best (detected once). */
  nearbyStrategy(actor: PartnersActor): Promise<NearbyStrategy> {
    if (this.options.nearbyStrategy) return Promise.resolve(this.options.nearbyStrategy);
    this.strategy ??= actor.scope
      .run((q) => availableStrategies(q))
      .then((s) => s[0] ?? 'scan')
      .catch((err: unknown) => {
        this.strategy = undefined;
        throw err;
      });
    return this.strategy;
  }

  async nearby(
    actor: PartnersActor,
    query: Omit<NearbyQuery, 'at'> & { at?: Date | undefined },
    page: PageRequest,
  ): Promise<{ shops: NearbyView[]; next: string | null; strategy: NearbyStrategy }> {
    const full: NearbyQuery = { ...query, at: query.at ?? this.now() };
    const strategy = await this.nearbyStrategy(actor);
    const result = await actor.scope.run((q) => nearbyPage(q, strategy, full, page));
    return { shops: result.items.map(nearbyView), next: result.next, strategy };
  }
}

/**
 * One page of nearby search. With `availableWithinDays`, SQL keeps the shops that open within the
 * days (cheap), and each is then asked for a bookable slot (bookings' `hasAvailability`): rows
 * are examined in order until the page is full, at most AVAILABILITY_EXAMINED of them, so a page may
 * come back short with a `next` (follow it until null).
 */
export async function nearbyPage(
  q: Queryable,
  strategy: NearbyStrategy,
  query: NearbyQuery,
  page: PageRequest,
): Promise<Page<NearbyRow>> {
  if (query.availableWithinDays === undefined) return nearestFirstPage(q, strategy, query, page);
  const listing = NEARBY_LISTINGS[query.sort];
  const items: NearbyRow[] = [];
  let cursor = page.cursor;
  let examined = 0;
  for (;;) {
    const batchSize = Math.min(Math.max(page.limit - items.length, 10), AVAILABILITY_EXAMINED - examined);
    const batch = await nearestFirstPage(q, strategy, query, { limit: batchSize, cursor });
    for (const [i, row] of batch.items.entries()) {
      examined++;
      const keyset = { t: row.sort_key, id: row.id };
      if (await hasAvailability(q, row.id, query.service, query.availableWithinDays, query.at)) items.push(row);
      const more = i < batch.items.length - 1 || batch.next !== null;
      if (items.length === page.limit || examined >= AVAILABILITY_EXAMINED)
        return { items, next: more ? encodeCursor(listing, keyset) : null };
      cursor = keyset;
    }
    if (batch.next === null) return { items, next: null };
  }
}

/** Largest window of nearest candidates tried before searching the whole radius. */
const MAX_WINDOW = 4096;

/**
 * One page from SQL. Sorted by distance with a KNN index, it first looks at the W nearest shops
 * only (W = 4 pages, at least 64), which is exact when the window held fewer than W shops (all of
 * the radius) or when the page's last shop is nearer than the window's farthest by more than a
 * millimetre (every shop outside the window is at least that far, so none can belong before it);
 * otherwise the window grows eightfold, and past MAX_WINDOW the whole radius is searched. The
 * margin covers the difference between the index's distance and ours (floating point), and ties.
 */
async function nearestFirstPage(
  q: Queryable,
  strategy: NearbyStrategy,
  query: NearbyQuery,
  page: PageRequest,
): Promise<Page<NearbyRow>> {
  const strip = (p: Page<NearbyRow & Partial<WindowStats>>): Page<NearbyRow> => ({
    items: p.items.map(({ window_n: _n, window_max_m: _m, ...row }) => row),
    next: p.next,
  });
  if (query.sort !== 'distance' && strategy !== 'scan') {
    // Sorted by rating or price: the top of each grid cell instead of the whole radius (nearby-grid.ts).
    const grid = gridCells(query);
    if (grid) return gridPage(q, { ...query, sort: query.sort }, page, grid, opensWithin);
  }
  if (query.sort !== 'distance' || !hasNearestFirst(strategy))
    return strip(await searchNearby(q, strategy, query, page, opensWithin));
  for (let window = Math.max(64, 4 * (page.limit + 1)); window <= MAX_WINDOW; window *= 8) {
    const result = await searchNearby(q, strategy, query, page, opensWithin, window);
    const last = result.items.at(-1);
    // Nothing passed the filters: an empty page cannot tell whether the window was full, so grow it.
    if (last === undefined) continue;
    if (last.window_n! < window) return strip(result);
    if (result.next !== null && last.distance_m < last.window_max_m! - 0.001) return strip(result);
  }
  return strip(await searchNearby(q, strategy, query, page, opensWithin));
}

const opensWithin = ({ at, days }: { at: string; days: string }): string =>
  `partner_opens_within(p.id, p.time_zone, ${at}, ${days})`;

function checkPrice(kind: 'fixed' | 'hourly' | 'quote', priceMinor: number | undefined | null): void {
  if (kind === 'fixed' && (priceMinor === undefined || priceMinor === null))
    throw invalid('/body/priceMinor', 'a fixed-price service states its price');
  if (kind === 'quote' && priceMinor !== undefined && priceMinor !== null)
    throw invalid('/body/priceMinor', 'a service priced by quote has no price');
}

const partNotFound = (partnerId: string, partId: string): Error =>
  apiError('PART_NOT_FOUND', `No part ${partId} at shop ${partnerId}`, { partId });
