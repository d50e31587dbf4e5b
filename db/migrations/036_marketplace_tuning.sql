-- Marketplace tuning (issue 15): nearby search sorted by rating or price without reading the whole
-- radius. docs/partners.md ("Nearby search", "Performance") explains the plan; api/src/partners/
-- nearby-grid.ts is the query that reads this table.
--
-- `partner_search` is a derived copy of the listing, one row per listed shop and offered service
-- code (the shop's cheapest active offer of it, exactly as nearby search prices it) plus one row per
-- listed shop with code '' (no service asked: the labour rate). Each row carries the shop's grid
-- cells at two sizes (fine: 0.05 x 0.08 degrees, about 5.5 km; coarse: 0.2 x 0.32 degrees, about
-- 22 km, in central Europe), its position, zone and rating. B-trees on (code, cell, rating) and
-- (code, cell, price) give every cell's shops best rated or cheapest first, so a search takes the
-- first page's worth from each cell the radius touches (a top-N per cell, LIMIT inside a LATERAL)
-- and sorts only those: the work grows with the number of cells, not the shops in the radius.
--
-- Maintained by statement-level triggers on partners and partner_services (transition tables: one
-- refresh per statement, so a bulk insert of shops costs one pass), through a SECURITY DEFINER
-- function: tenant work changes a shop, the copy follows in the same transaction. Only listed shops
-- (active, with a position) have rows, which every tenant may read anyway: listing_read is `true`.

CREATE TABLE partner_search (
  partner_id uuid NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
  tenant_id text NOT NULL,
  -- A catalogue code, or '' for the shop without a service.
  code text NOT NULL,
  cell_fine integer NOT NULL,
  cell_coarse integer NOT NULL,
  lat double precision NOT NULL,
  lon double precision NOT NULL,
  time_zone text NOT NULL,
  rating_avg numeric(3,2),
  -- The price nearby search sorts by: the cheapest active offer of the code (an hourly one without
  -- its own rate at the labour rate; NULL: quote), or for '' the labour rate.
  price_minor integer,
  price_kind text,
  service_id uuid,
  PRIMARY KEY (partner_id, code)
);
CREATE INDEX partner_search_fine_rating_idx ON partner_search (code, cell_fine, rating_avg DESC NULLS LAST);
CREATE INDEX partner_search_coarse_rating_idx ON partner_search (code, cell_coarse, rating_avg DESC NULLS LAST);
CREATE INDEX partner_search_fine_price_idx ON partner_search (code, cell_fine, price_minor);
CREATE INDEX partner_search_coarse_price_idx ON partner_search (code, cell_coarse, price_minor);

ALTER TABLE partner_search ENABLE ROW LEVEL SECURITY;
ALTER TABLE partner_search FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON partner_search USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON partner_search TO clutch_system USING (true) WITH CHECK (true);
-- Rows exist only for listed shops (the refresh below), so the listing is all of them.
CREATE POLICY listing_read ON partner_search FOR SELECT TO clutch_app USING (true);
GRANT SELECT ON partner_search TO clutch_app;

-- The grid cell of a position for a cell size in degrees; nearby-grid.ts computes the same in
-- float8 arithmetic (floor is monotonic, so a bounding box's cells hold every shop inside it).
CREATE FUNCTION partner_grid_cell(lat double precision, lon double precision, lat_size double precision, lon_size double precision)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT floor((lat + 90) / lat_size)::integer * 10000 + floor((lon + 180) / lon_size)::integer
$$;

-- Rebuilds the rows of the given shops from partners and partner_services.
CREATE FUNCTION partner_search_refresh(ids uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  DELETE FROM partner_search WHERE partner_id = ANY (ids);
  INSERT INTO partner_search (partner_id, tenant_id, code, cell_fine, cell_coarse, lat, lon, time_zone, rating_avg,
                              price_minor, price_kind, service_id)
  SELECT p.id, p.tenant_id, '', partner_grid_cell(p.lat, p.lon, 0.05, 0.08), partner_grid_cell(p.lat, p.lon, 0.2, 0.32),
         p.lat, p.lon, p.time_zone, p.rating_avg, p.labour_rate_minor,
         CASE WHEN p.labour_rate_minor IS NULL THEN NULL ELSE 'hourly' END, NULL
    FROM partners p
   WHERE p.id = ANY (ids) AND p.status = 'active' AND p.lat IS NOT NULL
  UNION ALL
  SELECT o.* FROM (
    SELECT DISTINCT ON (p.id, s.code)
           p.id, p.tenant_id, s.code, partner_grid_cell(p.lat, p.lon, 0.05, 0.08), partner_grid_cell(p.lat, p.lon, 0.2, 0.32),
           p.lat, p.lon, p.time_zone, p.rating_avg,
           coalesce(s.price_minor, CASE WHEN s.price_kind = 'hourly' THEN p.labour_rate_minor END) AS price,
           s.price_kind, s.id
      FROM partners p
      JOIN partner_services s ON s.partner_id = p.id AND s.active
     WHERE p.id = ANY (ids) AND p.status = 'active' AND p.lat IS NOT NULL
     ORDER BY p.id, s.code, price NULLS LAST, s.id) AS o;
$$;
REVOKE ALL ON FUNCTION partner_search_refresh(uuid[]) FROM PUBLIC;

CREATE FUNCTION partner_search_after_partners() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM partner_search_refresh(ARRAY(SELECT id FROM changed));
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION partner_search_after_partners() FROM PUBLIC;

CREATE FUNCTION partner_search_after_services() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM partner_search_refresh(ARRAY(SELECT DISTINCT partner_id FROM changed));
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION partner_search_after_services() FROM PUBLIC;

-- One trigger per event: a trigger with transition tables takes one event. Deleting a shop
-- cascades to its rows (the foreign key); an UPDATE's new rows name every shop it touched.
CREATE TRIGGER partner_search_insert AFTER INSERT ON partners
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION partner_search_after_partners();
CREATE TRIGGER partner_search_update AFTER UPDATE ON partners
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION partner_search_after_partners();
CREATE TRIGGER partner_search_insert AFTER INSERT ON partner_services
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION partner_search_after_services();
CREATE TRIGGER partner_search_update AFTER UPDATE ON partner_services
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION partner_search_after_services();
CREATE TRIGGER partner_search_delete AFTER DELETE ON partner_services
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION partner_search_after_services();

-- Sorted by distance with a service or a minimum rating asked: the nearest shops offering it (code
-- '' for any shop) rated at least that, from a KNN index over (code, point) (btree_gist, migration
-- 026, for the code; the rating is checked as the index hands the shops over, before the LIMIT), so
-- the nearest-first window of nearby search holds only shops that pass those filters instead of
-- growing until enough of them turn up. One
-- per spatial extension present, like the partners_knn_* functions of migration 025 (the search uses
-- the PostGIS one only: PGlite plans the earthdistance one as a bitmap of the whole box, see
-- docs/partners.md, Performance).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'partners_knn_earth') THEN
    ALTER TABLE partner_search ADD COLUMN earth_pt cube;
    CREATE INDEX partner_search_earth_idx ON partner_search USING gist (code, earth_pt);
    -- The refresh again, copying the shop's stored point (ll_to_earth per row again would cost
    -- PGlite dearly: see 025).
    CREATE OR REPLACE FUNCTION partner_search_refresh(ids uuid[]) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $b$
      DELETE FROM partner_search WHERE partner_id = ANY (ids);
      INSERT INTO partner_search (partner_id, tenant_id, code, cell_fine, cell_coarse, lat, lon, time_zone, rating_avg,
                                  price_minor, price_kind, service_id, earth_pt)
      SELECT p.id, p.tenant_id, '', partner_grid_cell(p.lat, p.lon, 0.05, 0.08), partner_grid_cell(p.lat, p.lon, 0.2, 0.32),
             p.lat, p.lon, p.time_zone, p.rating_avg, p.labour_rate_minor,
             CASE WHEN p.labour_rate_minor IS NULL THEN NULL ELSE 'hourly' END, NULL, p.earth_pt
        FROM partners p
       WHERE p.id = ANY (ids) AND p.status = 'active' AND p.lat IS NOT NULL
      UNION ALL
      SELECT o.* FROM (
        SELECT DISTINCT ON (p.id, s.code)
               p.id, p.tenant_id, s.code, partner_grid_cell(p.lat, p.lon, 0.05, 0.08), partner_grid_cell(p.lat, p.lon, 0.2, 0.32),
               p.lat, p.lon, p.time_zone, p.rating_avg,
               coalesce(s.price_minor, CASE WHEN s.price_kind = 'hourly' THEN p.labour_rate_minor END) AS price,
               s.price_kind, s.id, p.earth_pt
          FROM partners p
          JOIN partner_services s ON s.partner_id = p.id AND s.active
         WHERE p.id = ANY (ids) AND p.status = 'active' AND p.lat IS NOT NULL
         ORDER BY p.id, s.code, price NULLS LAST, s.id) AS o;
    $b$;
    CREATE FUNCTION partners_knn_earth_code(p_lat double precision, p_lon double precision, radius_m double precision,
                                            p_limit integer, p_code text, p_min_rating numeric)
    RETURNS SETOF partners
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 200 AS $b$
      SELECT p.* FROM (
        SELECT x.partner_id FROM partner_search x
         WHERE x.code = p_code AND (p_min_rating IS NULL OR x.rating_avg >= p_min_rating)
           AND earth_box(ll_to_earth(p_lat, p_lon), (radius_m * 1.001 + 1) * earth() / 6371008.8) @> x.earth_pt
         ORDER BY x.earth_pt <-> ll_to_earth(p_lat, p_lon)::cube
         LIMIT p_limit) AS n
      JOIN partners p ON p.id = n.partner_id AND p.status = 'active'
    $b$;
    REVOKE ALL ON FUNCTION partners_knn_earth_code(double precision, double precision, double precision, integer, text, numeric) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION partners_knn_earth_code(double precision, double precision, double precision, integer, text, numeric) TO clutch_app;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'partners_knn_postgis') THEN
    EXECUTE 'CREATE INDEX partner_search_geog_idx ON partner_search USING gist '
      || '(code, (ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography))';
    EXECUTE $f$
      CREATE FUNCTION partners_knn_postgis_code(p_lat double precision, p_lon double precision, radius_m double precision,
                                                p_limit integer, p_code text, p_min_rating numeric)
      RETURNS SETOF partners
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 200 AS $b$
        SELECT p.* FROM (
          SELECT x.partner_id FROM partner_search x
           WHERE x.code = p_code AND (p_min_rating IS NULL OR x.rating_avg >= p_min_rating)
             AND ST_DWithin(ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326)::geography,
                            ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography,
                            radius_m * 1.001 + 1, false)
           ORDER BY ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326)::geography <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography
           LIMIT p_limit) AS n
        JOIN partners p ON p.id = n.partner_id AND p.status = 'active'
      $b$ $f$;
    REVOKE ALL ON FUNCTION partners_knn_postgis_code(double precision, double precision, double precision, integer, text, numeric) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION partners_knn_postgis_code(double precision, double precision, double precision, integer, text, numeric) TO clutch_app;
  END IF;
END $$;

-- The shops already there.
SELECT partner_search_refresh(ARRAY(SELECT id FROM partners));
ANALYZE partner_search;
