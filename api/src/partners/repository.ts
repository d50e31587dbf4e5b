import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';
import { openAtSql, type SpecialDay, type WeeklyInterval } from './hours.js';

export interface PartnerRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  kinds: string[];
  time_zone: string;
  currency: string;
  labour_rate_minor: number | null;
  lat: number | null;
  lon: number | null;
  address: Record<string, unknown> | null;
  phone: string | null;
  email: string | null;
  website: string | null;
  status: string;
  rating_avg: string | number | null;
  rating_count: number;
  created_at: Date | string;
  updated_at: Date | string;
  open_now: boolean;
}

export interface ServiceRow {
  id: string;
  partner_id: string;
  code: string;
  name: string;
  price_kind: 'fixed' | 'hourly' | 'quote';
  price_minor: number | null;
  currency: string;
  duration_minutes: number;
  required_skill: string | null;
  buffer_before_minutes: number;
  buffer_after_minutes: number;
  active: boolean;
}

export interface PartRow {
  id: string;
  partner_id: string;
  sku: string;
  name: string;
  brand: string;
  price_minor: number;
  currency: string;
  stock: number;
  active: boolean;
}

export interface PhotoRow {
  id: string;
  partner_id: string;
  content_type: string;
  size: number;
  caption: string;
  created_at: Date | string;
}

/** The shop's profile fields a write sets (absent: unchanged on update, default on insert). */
export interface PartnerFields {
  name?: string | undefined;
  description?: string | undefined;
  kinds?: string[] | undefined;
  timeZone?: string | undefined;
  currency?: string | undefined;
  labourRateMinor?: number | null | undefined;
  lat?: number | undefined;
  lon?: number | undefined;
  address?: Record<string, unknown> | null | undefined;
  phone?: string | null | undefined;
  email?: string | null | undefined;
  website?: string | null | undefined;
  status?: string | undefined;
}

/** Shops by name (then id), A to Z. */
export const PARTNERS_LISTING: Listing = {
  name: 'partners',
  key: 'name',
  keyType: 'text',
  id: 'id',
  idType: 'uuid',
  order: 'asc',
};
/** A shop's parts by SKU. */
export const PARTS_LISTING: Listing = {
  name: 'partner-parts',
  key: 'sku',
  keyType: 'text',
  id: 'id',
  idType: 'uuid',
  order: 'asc',
};

const PARTNER_COLUMNS = (at: string): string => `id, tenant_id, name, description, kinds, time_zone,
  currency, labour_rate_minor, lat, lon, address, phone, email, website, status, rating_avg::float8 AS rating_avg,
  rating_count, created_at, updated_at, ${openAtSql('partners', at)} AS open_now`;

const SERVICE_COLUMNS = `id::text AS id, partner_id::text AS partner_id, code, name, price_kind, price_minor, currency,
  duration_minutes, required_skill, buffer_before_minutes, buffer_after_minutes, active`;

const PART_COLUMNS = `id, partner_id::text AS partner_id, sku, name, brand, price_minor, currency, stock, active`;

const PHOTO_COLUMNS = `id::text AS id, partner_id::text AS partner_id, content_type, octet_length(bytes) AS size, caption, created_at`;

/** Column of `partners` for each writable profile field. */
const PROFILE_COLUMNS: Record<keyof PartnerFields, string> = {
  name: 'name',
  description: 'description',
  kinds: 'kinds',
  timeZone: 'time_zone',
  currency: 'currency',
  labourRateMinor: 'labour_rate_minor',
  lat: 'lat',
  lon: 'lon',
  address: 'address',
  phone: 'phone',
  email: 'email',
  website: 'website',
  status: 'status',
};

/** The profile fields set in `fields`, as [column, value] (jsonb passed as text). */
function assignments(fields: PartnerFields): [string, unknown][] {
  return (Object.keys(PROFILE_COLUMNS) as (keyof PartnerFields)[])
    .filter((k) => fields[k] !== undefined)
    .map((k) => [
      PROFILE_COLUMNS[k],
      k === 'address' && fields.address !== null ? JSON.stringify(fields.address) : fields[k],
    ]);
}

/**
 * Shops and what they list (db/migrations/025_partners.sql). Reads see what row-level security lets
 * the transaction see: listed shops for every tenant, its own shops (any status) for a partner.
 */
export class PartnersRepository {
  constructor(private readonly q: Queryable) {}

  async tenantKind(tenantId: string): Promise<string | undefined> {
    const { rows } = await this.q.query<{ kind: string }>('SELECT kind FROM tenants WHERE id = $1', [tenantId]);
    return rows[0]?.kind;
  }

  /** Whether this database knows the time zone (open-now is computed in SQL). */
  async knowsTimeZone(name: string): Promise<boolean> {
    const { rows } = await this.q.query<{ known: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS known',
      [name],
    );
    return rows[0]!.known;
  }

  list(
    filter: { kind?: string | undefined; tenantId?: string | undefined; at: Date },
    page: PageRequest,
  ): Promise<Page<PartnerRow>> {
    return keysetPage<PartnerRow>(
      this.q,
      PARTNERS_LISTING,
      {
        sql: `SELECT ${PARTNER_COLUMNS('$1::timestamptz')} FROM partners
               WHERE ($2::text IS NULL OR $2 = ANY (kinds)) AND ($3::text IS NULL OR tenant_id = $3)`,
        params: [filter.at, filter.kind ?? null, filter.tenantId ?? null],
      },
      page,
    );
  }

  async get(id: string, at: Date): Promise<PartnerRow | undefined> {
    const { rows } = await this.q.query<PartnerRow>(
      `SELECT ${PARTNER_COLUMNS('$2::timestamptz')} FROM partners WHERE id = $1`,
      [id, at],
    );
    return rows[0];
  }

  /**
   * The shop, locked for a change, when this transaction may change it: the UPDATE policies apply
   * to FOR UPDATE, so another organisation's shop (readable in the listing) is not returned.
   */
  async lockForWrite(id: string): Promise<{ tenant_id: string; currency: string; status: string } | undefined> {
    const { rows } = await this.q.query<{ tenant_id: string; currency: string; status: string }>(
      'SELECT tenant_id, currency, status FROM partners WHERE id = $1 FOR NO KEY UPDATE',
      [id],
    );
    return rows[0];
  }

  async insert(tenantId: string, fields: PartnerFields): Promise<string> {
    const set = assignments(fields);
    const { rows } = await this.q.query<{ id: string }>(
      `INSERT INTO partners (tenant_id, ${set.map(([c]) => c).join(', ')})
       VALUES ($1, ${set.map((_, i) => `$${i + 2}`).join(', ')}) RETURNING id::text AS id`,
      [tenantId, ...set.map(([, v]) => v)],
    );
    return rows[0]!.id;
  }

  async update(id: string, fields: PartnerFields): Promise<void> {
    const set = assignments(fields);
    if (set.length === 0) return;
    await this.q.query(
      `UPDATE partners SET ${set.map(([c], i) => `${c} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1`,
      [id, ...set.map(([, v]) => v)],
    );
  }

  async openingHours(partnerId: string): Promise<WeeklyInterval[]> {
    const { rows } = await this.q.query<WeeklyInterval>(
      `SELECT weekday, to_char(opens, 'HH24:MI') AS opens, to_char(closes, 'HH24:MI') AS closes
         FROM partner_opening_hours WHERE partner_id = $1 ORDER BY weekday, opens`,
      [partnerId],
    );
    return rows;
  }

  async replaceOpeningHours(tenantId: string, partnerId: string, hours: readonly WeeklyInterval[]): Promise<void> {
    await this.q.query('DELETE FROM partner_opening_hours WHERE partner_id = $1', [partnerId]);
    if (hours.length === 0) return;
    await this.q.query(
      `INSERT INTO partner_opening_hours (tenant_id, partner_id, weekday, opens, closes)
       SELECT $1, $2, w, o, c FROM unnest($3::smallint[], $4::time[], $5::time[]) AS x (w, o, c)`,
      [tenantId, partnerId, hours.map((h) => h.weekday), hours.map((h) => h.opens), hours.map((h) => h.closes)],
    );
  }

  /** Special days from `from` (a local date) on, oldest first. */
  async specialDays(partnerId: string, from: string): Promise<Required<SpecialDay>[]> {
    const { rows } = await this.q.query<Required<SpecialDay>>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, to_char(opens, 'HH24:MI') AS opens, to_char(closes, 'HH24:MI') AS closes, note
         FROM partner_holidays WHERE partner_id = $1 AND day >= $2::date ORDER BY day, opens NULLS FIRST`,
      [partnerId, from],
    );
    return rows;
  }

  async replaceSpecialDays(tenantId: string, partnerId: string, days: readonly SpecialDay[]): Promise<void> {
    await this.q.query('DELETE FROM partner_holidays WHERE partner_id = $1', [partnerId]);
    if (days.length === 0) return;
    await this.q.query(
      `INSERT INTO partner_holidays (tenant_id, partner_id, day, opens, closes, note)
       SELECT $1, $2, d, o, c, n FROM unnest($3::date[], $4::time[], $5::time[], $6::text[]) AS x (d, o, c, n)`,
      [
        tenantId,
        partnerId,
        days.map((d) => d.day),
        days.map((d) => d.opens ?? null),
        days.map((d) => d.closes ?? null),
        days.map((d) => d.note ?? ''),
      ],
    );
  }

  async services(partnerId: string, includeInactive: boolean): Promise<ServiceRow[]> {
    const { rows } = await this.q.query<ServiceRow>(
      `SELECT ${SERVICE_COLUMNS} FROM partner_services WHERE partner_id = $1 AND (active OR $2) ORDER BY code, name, id`,
      [partnerId, includeInactive],
    );
    return rows;
  }

  async insertService(
    tenantId: string,
    partnerId: string,
    s: Omit<ServiceRow, 'id' | 'partner_id' | 'active'>,
  ): Promise<ServiceRow> {
    const { rows } = await this.q.query<ServiceRow>(
      `INSERT INTO partner_services (tenant_id, partner_id, code, name, price_kind, price_minor, currency, duration_minutes,
         required_skill, buffer_before_minutes, buffer_after_minutes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${SERVICE_COLUMNS}`,
      [
        tenantId,
        partnerId,
        s.code,
        s.name,
        s.price_kind,
        s.price_minor,
        s.currency,
        s.duration_minutes,
        s.required_skill,
        s.buffer_before_minutes,
        s.buffer_after_minutes,
      ],
    );
    return rows[0]!;
  }

  async service(partnerId: string, serviceId: string): Promise<ServiceRow | undefined> {
    const { rows } = await this.q.query<ServiceRow>(
      `SELECT ${SERVICE_COLUMNS} FROM partner_services WHERE partner_id = $1 AND id = $2`,
      [partnerId, serviceId],
    );
    return rows[0];
  }

  async updateService(partnerId: string, serviceId: string, set: Partial<ServiceRow>): Promise<ServiceRow | undefined> {
    const entries = Object.entries(set).filter(([, v]) => v !== undefined);
    const { rows } = await this.q.query<ServiceRow>(
      `UPDATE partner_services SET ${[...entries.map(([c], i) => `${c} = $${i + 3}`), 'updated_at = now()'].join(', ')}
        WHERE partner_id = $1 AND id = $2 RETURNING ${SERVICE_COLUMNS}`,
      [partnerId, serviceId, ...entries.map(([, v]) => v)],
    );
    return rows[0];
  }

  parts(partnerId: string, includeInactive: boolean, page: PageRequest): Promise<Page<PartRow>> {
    return keysetPage<PartRow>(
      this.q,
      PARTS_LISTING,
      {
        sql: `SELECT ${PART_COLUMNS} FROM partner_parts WHERE partner_id = $1 AND (active OR $2)`,
        params: [partnerId, includeInactive],
      },
      page,
    );
  }

  /** The new part; undefined when the shop already lists the SKU. */
  async insertPart(
    tenantId: string,
    partnerId: string,
    p: Pick<PartRow, 'sku' | 'name' | 'brand' | 'price_minor' | 'currency' | 'stock'>,
  ): Promise<PartRow | undefined> {
    const { rows } = await this.q.query<PartRow>(
      `INSERT INTO partner_parts (tenant_id, partner_id, sku, name, brand, price_minor, currency, stock)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (partner_id, sku) DO NOTHING RETURNING ${PART_COLUMNS}`,
      [tenantId, partnerId, p.sku, p.name, p.brand, p.price_minor, p.currency, p.stock],
    );
    return rows[0];
  }

  async part(partnerId: string, partId: string): Promise<PartRow | undefined> {
    const { rows } = await this.q.query<PartRow>(
      `SELECT ${PART_COLUMNS} FROM partner_parts WHERE partner_id = $1 AND id = $2`,
      [partnerId, partId],
    );
    return rows[0];
  }

  async updatePart(partnerId: string, partId: string, set: Partial<PartRow>): Promise<PartRow | undefined> {
    const entries = Object.entries(set).filter(([, v]) => v !== undefined);
    const { rows } = await this.q.query<PartRow>(
      `UPDATE partner_parts SET ${[...entries.map(([c], i) => `${c} = $${i + 3}`), 'updated_at = now()'].join(', ')}
        WHERE partner_id = $1 AND id = $2 RETURNING ${PART_COLUMNS}`,
      [partnerId, partId, ...entries.map(([, v]) => v)],
    );
    return rows[0];
  }

  async photos(partnerId: string): Promise<PhotoRow[]> {
    const { rows } = await this.q.query<PhotoRow>(
      `SELECT ${PHOTO_COLUMNS} FROM partner_photos WHERE partner_id = $1 ORDER BY created_at, id`,
      [partnerId],
    );
    return rows;
  }

  async photoCount(partnerId: string): Promise<number> {
    const { rows } = await this.q.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM partner_photos WHERE partner_id = $1',
      [partnerId],
    );
    return rows[0]!.n;
  }

  async insertPhoto(
    tenantId: string,
    partnerId: string,
    contentType: string,
    bytes: Uint8Array,
    caption: string,
  ): Promise<PhotoRow> {
    const { rows } = await this.q.query<PhotoRow>(
      `INSERT INTO partner_photos (tenant_id, partner_id, content_type, bytes, caption) VALUES ($1, $2, $3, $4, $5)
       RETURNING ${PHOTO_COLUMNS}`,
      [tenantId, partnerId, contentType, bytes, caption],
    );
    return rows[0]!;
  }

  async photoBytes(
    partnerId: string,
    photoId: string,
  ): Promise<{ content_type: string; bytes: Uint8Array } | undefined> {
    const { rows } = await this.q.query<{ content_type: string; bytes: Uint8Array }>(
      'SELECT content_type, bytes FROM partner_photos WHERE partner_id = $1 AND id = $2',
      [partnerId, photoId],
    );
    return rows[0];
  }

  async deletePhoto(partnerId: string, photoId: string): Promise<boolean> {
    const { rowCount } = await this.q.query('DELETE FROM partner_photos WHERE partner_id = $1 AND id = $2', [
      partnerId,
      photoId,
    ]);
    return rowCount > 0;
  }
}

/**
 * Changes a part's stock by `delta` in one statement: the row lock orders concurrent changes and the
 * `stock >= 0` check (here and in the table) refuses one that would go below zero. Returns the new
 * stock, or undefined when the part is not there (or not this transaction's to change) and
 * `'insufficient'` when there is not enough. For parts orders (migration 027) as well as the API.
 */
export async function adjustPartStock(
  q: Queryable,
  partId: string,
  delta: number,
): Promise<{ stock: number } | 'insufficient' | undefined> {
  const { rows } = await q.query<{ stock: number }>(
    'UPDATE partner_parts SET stock = stock + $2, updated_at = now() WHERE id = $1 AND stock + $2 >= 0 RETURNING stock',
    [partId, delta],
  );
  if (rows[0]) return { stock: rows[0].stock };
  const { rows: seen } = await q.query<{ stock: number }>(
    'SELECT stock FROM partner_parts WHERE id = $1 FOR NO KEY UPDATE',
    [partId],
  );
  return seen[0] ? 'insufficient' : undefined;
}

/** A catalogue part as estimates and parts orders price it. */
export interface CataloguePart {
  sku: string;
  name: string;
  price_minor: number;
  currency: string;
}

/** Active parts of one shop's catalogue, by id (ids of another shop's parts are simply absent). */
export async function catalogueParts(
  q: Queryable,
  partnerId: string,
  ids: readonly string[],
): Promise<Map<string, CataloguePart>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<CataloguePart & { id: string }>(
    `SELECT id::text AS id, sku, name, price_minor, currency FROM partner_parts
      WHERE partner_id = $1 AND id = ANY ($2::uuid[]) AND active`,
    [partnerId, [...ids]],
  );
  return new Map(rows.map((r) => [r.id, r]));
}
