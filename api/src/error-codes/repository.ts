import type { Queryable } from '@clutch/db';

/** Mean Earth radius (IUGG), km: the same sphere as great-circle distances everywhere else. */
export const EARTH_RADIUS_KM = 6371.0088;
const KM_PER_DEGREE_LAT = (Math.PI * EARTH_RADIUS_KM) / 180;

export interface Position {
  lat: number;
  lon: number;
  radiusKm: number;
}

export interface PriceRange {
  service: string;
  currency: string;
  minMinor: number;
  maxMinor: number;
  shops: number;
}

/**
 * The bounding box around a position that holds every point within the radius: latitude by the
 * degree's length, longitude widened by 1/cos(latitude). Where the box would reach a pole or cross
 * the antimeridian, longitude is not bounded at all (the distance filter still applies), so a shop
 * at 179.9°E is found from 179.9°W.
 */
export function boundingBox(p: Position): {
  minLat: number;
  maxLat: number;
  minLon: number | null;
  maxLon: number | null;
} {
  const dLat = p.radiusKm / KM_PER_DEGREE_LAT;
  const minLat = p.lat - dLat;
  const maxLat = p.lat + dLat;
  const cos = Math.cos((p.lat * Math.PI) / 180);
  const dLon = cos > 1e-6 ? dLat / cos : 360;
  if (minLat <= -90 || maxLat >= 90 || p.lon - dLon < -180 || p.lon + dLon > 180)
    return { minLat, maxLat, minLon: null, maxLon: null };
  return { minLat, maxLat, minLon: p.lon - dLon, maxLon: p.lon + dLon };
}

export class ErrorCodesRepository {
  constructor(private readonly q: Queryable) {}

  /** The vehicle's newest position fix, when the platform has one. */
  async lastPosition(vehicleId: string): Promise<{ lat: number; lon: number } | undefined> {
    const { rows } = await this.q.query<{ lat: number; lon: number }>(
      'SELECT lat, lon FROM locations WHERE vehicle_id = $1 ORDER BY time DESC LIMIT 1',
      [vehicleId],
    );
    const row = rows[0];
    return row ? { lat: Number(row.lat), lon: Number(row.lon) } : undefined;
  }

  /**
   * Price ranges of the services offered by listed (`active`) shops within the radius: a bounding
   * box on the partners' lat/lon first, then the great-circle (haversine) distance. A fixed price
   * is the price; an hourly one is its rate (else the shop's labour rate) times the service's
   * duration, rounded up to a minor unit; `quote` services have no price to range over and are left out. One row per service and
   * currency. Partners and their services are listing data every tenant may read (listing_read).
   */
  async priceRanges(services: readonly string[], at: Position): Promise<PriceRange[]> {
    if (services.length === 0) return [];
    const box = boundingBox(at);
    const { rows } = await this.q.query<{
      service: string;
      currency: string;
      min_minor: string | number;
      max_minor: string | number;
      shops: string | number;
    }>(
      `WITH offers AS (
         SELECT s.code, s.currency, p.id AS partner_id,
                CASE s.price_kind WHEN 'fixed' THEN s.price_minor::bigint
                     ELSE ceil(coalesce(s.price_minor, p.labour_rate_minor)::numeric * s.duration_minutes / 60)::bigint
                END AS price,
                $8::float8 * 2 * asin(least(1, sqrt(
                  power(sin(radians(p.lat - $1) / 2), 2)
                  + cos(radians($1)) * cos(radians(p.lat)) * power(sin(radians(p.lon - $2) / 2), 2)))) AS km
           FROM partner_services s
           JOIN partners p ON p.id = s.partner_id
          WHERE s.code = ANY ($3::text[]) AND s.active AND p.status = 'active'
            AND (s.price_kind = 'fixed' OR (s.price_kind = 'hourly' AND coalesce(s.price_minor, p.labour_rate_minor) IS NOT NULL))
            AND p.lat BETWEEN $4 AND $5
            AND ($6::float8 IS NULL OR p.lon BETWEEN $6 AND $7))
       SELECT code AS service, currency, min(price) AS min_minor, max(price) AS max_minor,
              count(DISTINCT partner_id) AS shops
         FROM offers WHERE km <= $9
        GROUP BY code, currency
        ORDER BY code, count(DISTINCT partner_id) DESC, currency`,
      [at.lat, at.lon, [...services], box.minLat, box.maxLat, box.minLon, box.maxLon, EARTH_RADIUS_KM, at.radiusKm],
    );
    return rows.map((r) => ({
      service: r.service,
      currency: r.currency.trim(),
      minMinor: Number(r.min_minor),
      maxMinor: Number(r.max_minor),
      shops: Number(r.shops),
    }));
  }
}
