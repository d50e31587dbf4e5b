-- Partners (issue 15): a partner organisation (a tenant of kind `partner`) lists one or more shops,
-- each a row of `partners` (its id is the policy's `shopId`), with opening hours in the shop's own
-- time zone, holidays and special days, services with prices, a parts catalogue with stock, and photos.
-- docs/partners.md describes the domain; api/src/partners/ is the code.
--
-- Listing tables: every tenant reads the listing of active shops (the `listing_read` policies, for
-- SELECT to clutch_app); only the owning tenant writes (tenant_isolation), the platform everything
-- (system_access). A shop that is not `active` (a draft, a suspended one) is seen by its own
-- organisation and the platform only, and so are its hours, services, parts and photos.
--
-- Nearby search (api/src/partners/nearby.ts) finds candidates through a spatial index and then
-- filters and sorts by one exact great-circle distance computed in SQL, the same on every engine.
-- The index is PostGIS where the server has it, else cube + earthdistance (PGlite, and a server
-- without PostGIS), else a bounding box over a (lat, lon) B-tree: the search picks, at run time,
-- the best candidates function present (partners_near_*), so a DBA may add an extension later.

CREATE TABLE partners (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
  kinds text[] NOT NULL CHECK (kinds <@ ARRAY['repair_center', 'parts_shop']::text[] AND cardinality(kinds) > 0),
  -- IANA name, validated by the API (Intl knows the zones; the database's list may differ by version).
  time_zone text NOT NULL CHECK (time_zone ~ '^[A-Za-z0-9_+/-]{1,64}$'),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- Per hour, in the currency's minor units; NULL: the shop quotes labour case by case.
  labour_rate_minor integer CHECK (labour_rate_minor >= 0),
  lat double precision CHECK (lat BETWEEN -90 AND 90),
  lon double precision CHECK (lon BETWEEN -180 AND 180),
  address jsonb CHECK (address IS NULL OR jsonb_typeof(address) = 'object'),
  phone text CHECK (length(phone) <= 40),
  email text CHECK (length(email) <= 254),
  website text CHECK (length(website) <= 500),
  -- Only `active` shops are listed; `draft` while the organisation sets it up, `suspended` by the platform.
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'suspended')),
  -- Maintained by reviews (migration 027), shown here.
  rating_avg numeric(3,2) CHECK (rating_avg BETWEEN 0 AND 5),
  rating_count integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((lat IS NULL) = (lon IS NULL)),
  -- A listed shop can be found on the map.
  CHECK (status <> 'active' OR lat IS NOT NULL),
  -- For the composite foreign keys below: a child row is of its shop's tenant.
  UNIQUE (tenant_id, id)
);
CREATE INDEX partners_tenant_idx ON partners (tenant_id);
-- The fallback spatial index (a latitude band, then longitude) and the rating sort.
CREATE INDEX partners_active_lat_idx ON partners (lat, lon) WHERE status = 'active';

-- Weekly opening hours in the shop's time zone: several intervals a day, none overnight.
CREATE TABLE partner_opening_hours (
  tenant_id text NOT NULL,
  partner_id uuid NOT NULL,
  weekday smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7), -- ISO: Monday = 1
  opens time NOT NULL,
  closes time NOT NULL,
  PRIMARY KEY (partner_id, weekday, opens),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id) ON DELETE CASCADE,
  CHECK (closes > opens)
);

-- A day (in the shop's time zone) whose hours replace the weekday's: opens and closes both NULL =
-- closed all day; else one row per interval of special hours.
CREATE TABLE partner_holidays (
  tenant_id text NOT NULL,
  partner_id uuid NOT NULL,
  day date NOT NULL,
  opens time,
  closes time,
  note text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id) ON DELETE CASCADE,
  CHECK ((opens IS NULL) = (closes IS NULL)),
  CHECK (closes > opens)
);
CREATE UNIQUE INDEX partner_holidays_interval_idx ON partner_holidays (partner_id, day, coalesce(opens, '00:00'));

-- Services a shop offers. `code` is from the catalogue in code (api/src/partners/service-catalogue.ts).
-- fixed: price_minor is the price; hourly: price_minor per hour (NULL: the shop's labour rate);
-- quote: no price until an estimate.
CREATE TABLE partner_services (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  partner_id uuid NOT NULL,
  code text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  price_kind text NOT NULL CHECK (price_kind IN ('fixed', 'hourly', 'quote')),
  price_minor integer CHECK (price_minor >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 7 * 24 * 60),
  required_skill text CHECK (length(required_skill) BETWEEN 1 AND 64),
  buffer_before_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 480),
  buffer_after_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 480),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id) ON DELETE CASCADE,
  UNIQUE (tenant_id, id),
  CHECK (price_kind <> 'fixed' OR price_minor IS NOT NULL),
  CHECK (price_kind <> 'quote' OR price_minor IS NULL)
);
CREATE INDEX partner_services_partner_idx ON partner_services (partner_id, code) WHERE active;
CREATE INDEX partner_services_code_idx ON partner_services (code, partner_id) WHERE active;

-- Parts a shop sells, with stock. Stock changes are single UPDATEs guarded by the CHECK, so two
-- concurrent decrements can never take it below zero (the second waits for the first's row lock and
-- then fails the check, or succeeds on what is left).
CREATE TABLE partner_parts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  partner_id uuid NOT NULL,
  sku text NOT NULL CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  brand text NOT NULL DEFAULT '' CHECK (length(brand) <= 100),
  price_minor integer NOT NULL CHECK (price_minor >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  stock integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id) ON DELETE CASCADE,
  UNIQUE (partner_id, sku),
  UNIQUE (tenant_id, id)
);

-- Photos of a shop, stored in the database (bounded: the API accepts JPEG, PNG and WebP checked by
-- their magic bytes, up to 160 KiB each, 20 per shop), served back with their content type.
CREATE TABLE partner_photos (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  partner_id uuid NOT NULL,
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
  bytes bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 163840),
  caption text NOT NULL DEFAULT '' CHECK (length(caption) <= 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX partner_photos_partner_idx ON partner_photos (partner_id, created_at);

-- Row-level security, forced (018): the owning tenant, the platform, and the listing for everyone.
ALTER TABLE partners ENABLE ROW LEVEL SECURITY;
ALTER TABLE partners FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON partners USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON partners TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY listing_read ON partners FOR SELECT TO clutch_app USING (status = 'active');

-- Whether a shop is listed, read as the platform (for other domains' listing policies; a policy
-- with an EXISTS on partners, as below, is cheaper per row: a SECURITY DEFINER function is never
-- inlined, and row-level security calls it for every row it looks at).
CREATE FUNCTION partner_listed(p uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM partners WHERE id = p AND status = 'active')
$$;
REVOKE ALL ON FUNCTION partner_listed(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION partner_listed(uuid) TO clutch_app;

ALTER TABLE partner_opening_hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE partner_opening_hours FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON partner_opening_hours USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON partner_opening_hours TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY listing_read ON partner_opening_hours FOR SELECT TO clutch_app USING (EXISTS (SELECT 1 FROM partners p WHERE p.id = partner_id AND p.status = 'active'));

ALTER TABLE partner_holidays ENABLE ROW LEVEL SECURITY;
ALTER TABLE partner_holidays FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON partner_holidays USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON partner_holidays TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY listing_read ON partner_holidays FOR SELECT TO clutch_app USING (EXISTS (SELECT 1 FROM partners p WHERE p.id = partner_id AND p.status = 'active'));

ALTER TABLE partner_services ENABLE ROW LEVEL SECURITY;
ALTER TABLE partner_services FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON partner_services USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON partner_services TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY listing_read ON partner_services FOR SELECT TO clutch_app USING (EXISTS (SELECT 1 FROM partners p WHERE p.id = partner_id AND p.status = 'active'));

ALTER TABLE partner_parts ENABLE ROW LEVEL SECURITY;
ALTER TABLE partner_parts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON partner_parts USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON partner_parts TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY listing_read ON partner_parts FOR SELECT TO clutch_app USING (EXISTS (SELECT 1 FROM partners p WHERE p.id = partner_id AND p.status = 'active'));

ALTER TABLE partner_photos ENABLE ROW LEVEL SECURITY;
ALTER TABLE partner_photos FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON partner_photos USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON partner_photos TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY listing_read ON partner_photos FOR SELECT TO clutch_app USING (EXISTS (SELECT 1 FROM partners p WHERE p.id = partner_id AND p.status = 'active'));

-- Tenant work: a partner organisation edits its own shops (rating columns are reviews' to change,
-- which run as the platform). Nothing is deleted but hours, holidays and photos (a service or part
-- is deactivated, so bookings and orders keep pointing at it).
GRANT SELECT, INSERT, UPDATE ON partners, partner_services, partner_parts TO clutch_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON partner_opening_hours, partner_holidays, partner_photos TO clutch_app;

-- Whether a shop opens on at least one of the `p_days` local days starting with the one `p_at` falls
-- on (holidays included): the fallback of "available within N days" (docs/partners.md).
CREATE FUNCTION partner_opens_within(p_id uuid, p_zone text, p_at timestamptz, p_days integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1
      FROM generate_series(0, p_days - 1) AS g (n)
     CROSS JOIN LATERAL (SELECT (p_at AT TIME ZONE p_zone)::date + g.n AS d) AS x
     WHERE CASE
       WHEN EXISTS (SELECT 1 FROM partner_holidays h WHERE h.partner_id = p_id AND h.day = x.d)
         THEN EXISTS (SELECT 1 FROM partner_holidays h WHERE h.partner_id = p_id AND h.day = x.d AND h.opens IS NOT NULL)
       ELSE EXISTS (SELECT 1 FROM partner_opening_hours o WHERE o.partner_id = p_id AND o.weekday = extract(isodow FROM x.d))
     END)
$$;

-- Spatial candidates for nearby search: the listed shops whose point may lie within `radius_m`
-- metres (great circle on the sphere of radius 6371008.8 m) of (lat, lon); a superset, which the
-- search then filters by the exact distance. SECURITY DEFINER because an index serves only
-- leakproof operators ahead of row-level security quals, and neither PostGIS's nor cube's are: run
-- as the tenant, every search would scan the table. They return listed shops only, which every
-- tenant may read anyway (listing_read), whole rows, so the search needs no join back to partners.
-- One function per index that exists; nearby search picks the best present (postgis,
-- earthdistance, bbox).
CREATE FUNCTION partners_near_bbox(p_lat double precision, p_lon double precision, radius_m double precision)
RETURNS SETOF partners
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 200 AS $$
DECLARE
  dlat double precision := degrees((radius_m * 1.001 + 1) / 6371008.8);
  dlon double precision := CASE WHEN abs(p_lat) + dlat >= 89 THEN 360
                                ELSE dlat / cos(radians(abs(p_lat) + dlat)) END;
BEGIN
  RETURN QUERY
    SELECT p.* FROM partners p
     WHERE p.status = 'active'
       AND p.lat BETWEEN p_lat - dlat AND p_lat + dlat
       AND (dlon >= 180
            OR p.lon BETWEEN p_lon - dlon AND p_lon + dlon
            OR p.lon - 360 BETWEEN p_lon - dlon AND p_lon + dlon
            OR p.lon + 360 BETWEEN p_lon - dlon AND p_lon + dlon);
END $$;
REVOKE ALL ON FUNCTION partners_near_bbox(double precision, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION partners_near_bbox(double precision, double precision, double precision) TO clutch_app;

-- Spatial indexes, each where its extension exists or can be created by this owner (PostGIS and
-- earthdistance are not trusted extensions on a server: a superuser or a DBA creates them). Both
-- are partial on listed shops, the only ones nearby search returns.
DO $$
BEGIN
  BEGIN
    CREATE EXTENSION IF NOT EXISTS earthdistance CASCADE;
  EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'earthdistance unavailable (%): nearby search falls back to a bounding box', SQLERRM;
  END;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'earthdistance') THEN
    -- Stored, not an expression index: ll_to_earth is an SQL function, and the index's recheck and
    -- KNN ordering would call it for every row they look at (about half a millisecond each on PGlite).
    EXECUTE 'ALTER TABLE partners ADD COLUMN earth_pt cube GENERATED ALWAYS AS (ll_to_earth(lat, lon)) STORED';
    EXECUTE 'CREATE INDEX partners_earth_idx ON partners USING gist (earth_pt) WHERE status = ''active''';
    -- earth() is the extension's sphere (6378168 m): the radius is scaled to it, with a margin.
    EXECUTE $f$
      CREATE FUNCTION partners_near_earth(p_lat double precision, p_lon double precision, radius_m double precision)
      RETURNS SETOF partners
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 200 AS $b$
      BEGIN
        RETURN QUERY SELECT p.* FROM partners p
         WHERE p.status = 'active'
           AND earth_box(ll_to_earth(p_lat, p_lon), (radius_m * 1.001 + 1) * earth() / 6371008.8) @> p.earth_pt;
      END $b$ $f$;
    REVOKE ALL ON FUNCTION partners_near_earth(double precision, double precision, double precision) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION partners_near_earth(double precision, double precision, double precision) TO clutch_app;
    -- The `p_limit` nearest of them, nearest first (the index's KNN order: the chord through the
    -- sphere grows with the great-circle distance), for searches sorted by distance.
    EXECUTE $f$
      CREATE FUNCTION partners_knn_earth(p_lat double precision, p_lon double precision, radius_m double precision, p_limit integer)
      RETURNS SETOF partners
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 200 AS $b$
      BEGIN
        RETURN QUERY SELECT p.* FROM partners p
         WHERE p.status = 'active'
           AND earth_box(ll_to_earth(p_lat, p_lon), (radius_m * 1.001 + 1) * earth() / 6371008.8) @> p.earth_pt
         ORDER BY p.earth_pt <-> ll_to_earth(p_lat, p_lon)::cube
         LIMIT p_limit;
      END $b$ $f$;
    REVOKE ALL ON FUNCTION partners_knn_earth(double precision, double precision, double precision, integer) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION partners_knn_earth(double precision, double precision, double precision, integer) TO clutch_app;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS postgis;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'postgis not created (%): nearby search uses earthdistance', SQLERRM;
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis') THEN
    EXECUTE 'CREATE INDEX partners_geog_idx ON partners USING gist '
      || '((ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography)) WHERE status = ''active''';
    -- On the sphere (use_spheroid false, PostGIS's radius 6371008.7714 m), with a margin.
    EXECUTE $f$
      CREATE FUNCTION partners_near_postgis(p_lat double precision, p_lon double precision, radius_m double precision)
      RETURNS SETOF partners
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 200 AS $b$
      BEGIN
        RETURN QUERY SELECT p.* FROM partners p
         WHERE p.status = 'active'
           AND ST_DWithin(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography,
                          ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography,
                          radius_m * 1.001 + 1, false);
      END $b$ $f$;
    REVOKE ALL ON FUNCTION partners_near_postgis(double precision, double precision, double precision) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION partners_near_postgis(double precision, double precision, double precision) TO clutch_app;
    EXECUTE $f$
      CREATE FUNCTION partners_knn_postgis(p_lat double precision, p_lon double precision, radius_m double precision, p_limit integer)
      RETURNS SETOF partners
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 200 AS $b$
      BEGIN
        RETURN QUERY SELECT p.* FROM partners p
         WHERE p.status = 'active'
           AND ST_DWithin(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography,
                          ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography,
                          radius_m * 1.001 + 1, false)
         ORDER BY ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography
         LIMIT p_limit;
      END $b$ $f$;
    REVOKE ALL ON FUNCTION partners_knn_postgis(double precision, double precision, double precision, integer) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION partners_knn_postgis(double precision, double precision, double precision, integer) TO clutch_app;
  END IF;
END $$;
