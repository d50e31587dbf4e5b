-- Repair work (issue 15, item 4 and item 1's reviews): check-ins, estimates and their lines
-- (supplemental estimates and revisions), parts orders between a repair center and a parts shop,
-- warranties on delivered work, and reviews of a shop with its answer. docs/repair-work.md describes
-- the domain; api/src/check-ins, estimates, parts-orders, reviews and warranties are the code.
--
-- Two-party tables (check-ins, estimates, estimate lines, warranties): tenant_id is the shop's tenant
-- (the repair order's), customer_tenant_id/customer_user_id say who the customer is, copied from the
-- repair order; the customer reads them through `customer_access` (an owner only their own, through
-- rbac_confined_owner(), migration 023). Parts orders: tenant_id is the ordering repair center's,
-- supplier_tenant_id the parts shop's, which reads and moves them through `supplier_access`.
-- Reviews are a listing table (everyone reads them) written by the customer and answered by the shop.
--
-- The repair order's status changes only through transitionRepairOrder (api/src/repair-orders/
-- lifecycle.ts, migration 026's trigger); nothing here updates it.

-- The customer of a two-party row in this transaction: the tenant, and for a car owner the person.
CREATE FUNCTION repair_work_customer(tenant text, person uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT tenant = current_setting('app.tenant_id', true)
     AND ((SELECT rbac_confined_owner()) IS NULL OR person = (SELECT rbac_confined_owner()))
$$;
GRANT EXECUTE ON FUNCTION repair_work_customer(text, uuid) TO clutch_app;

-- The vehicle's state when it came in: odometer, photos (below), and a snapshot of its trouble codes
-- and health read from telematics at that moment (the car's data lives in the owner's tenant; the API
-- reads it in an audited system scope justified by the repair order naming the vehicle).
CREATE TABLE check_ins (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid NOT NULL REFERENCES partners (id),
  repair_order_id uuid NOT NULL UNIQUE REFERENCES repair_orders (id),
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  vehicle_id uuid,
  odometer_km integer NOT NULL CHECK (odometer_km BETWEEN 0 AND 2000000),
  notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
  -- { takenAt, health: {...}|null, diagnostics: {...}|null, odometerKm: <telematics'>|null, error?: text }
  snapshot jsonb NOT NULL CHECK (jsonb_typeof(snapshot) = 'object'),
  checked_in_by text NOT NULL CHECK (length(checked_in_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX check_ins_vehicle_idx ON check_ins (vehicle_id, created_at);

-- Photos taken at check-in: JPEG, PNG or WebP (checked by magic bytes in the API), bounded in size.
CREATE TABLE check_in_photos (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  check_in_id uuid NOT NULL REFERENCES check_ins (id) ON DELETE CASCADE,
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  position smallint NOT NULL CHECK (position BETWEEN 0 AND 11),
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
  bytes bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 163840),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (check_in_id, position)
);

-- Estimates. A draft is edited freely; sending freezes it (a change is a new revision, which
-- supersedes it when sent); the customer then decides every line. `supplemental`: extra work found
-- mid-repair. Amounts in the currency's minor units (the shop's currency), totals = sums of lines.
CREATE TABLE estimates (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid NOT NULL REFERENCES partners (id),
  repair_order_id uuid NOT NULL REFERENCES repair_orders (id),
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  supplemental boolean NOT NULL DEFAULT false,
  revision integer NOT NULL DEFAULT 1 CHECK (revision BETWEEN 1 AND 1000),
  -- The sent estimate this one revises (NULL for a first revision).
  revises_id uuid REFERENCES estimates (id),
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sent', 'decided', 'superseded')),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  net_minor bigint NOT NULL DEFAULT 0 CHECK (net_minor >= 0),
  tax_minor bigint NOT NULL DEFAULT 0 CHECK (tax_minor >= 0),
  total_minor bigint NOT NULL DEFAULT 0 CHECK (total_minor = net_minor + tax_minor),
  approved_total_minor bigint CHECK (approved_total_minor BETWEEN 0 AND total_minor),
  notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
  created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  decided_at timestamptz,
  decided_by text,
  CHECK ((status = 'draft') = (sent_at IS NULL) OR status = 'superseded'),
  CHECK ((status = 'decided') = (decided_at IS NOT NULL)),
  CHECK ((status = 'decided') = (approved_total_minor IS NOT NULL))
);
CREATE INDEX estimates_order_idx ON estimates (repair_order_id, created_at);
-- At most one estimate of an order waits for the customer, and at most one draft is being written.
CREATE UNIQUE INDEX estimates_one_sent_idx ON estimates (repair_order_id) WHERE status = 'sent';
CREATE UNIQUE INDEX estimates_one_draft_idx ON estimates (repair_order_id) WHERE status = 'draft';

-- quantity_milli: thousandths (1.5 hours of labour = 1500, 2 parts = 2000). Rounding (per line,
-- half up; api/src/estimates/money.ts): net = round(quantity_milli * unit_price_minor / 1000),
-- tax = round(net * tax_rate_bp / 10000), total = net + tax.
CREATE TABLE estimate_lines (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  estimate_id uuid NOT NULL REFERENCES estimates (id) ON DELETE CASCADE,
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  position smallint NOT NULL CHECK (position BETWEEN 0 AND 199),
  kind text NOT NULL CHECK (kind IN ('labour', 'part', 'fee')),
  description text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
  part_id uuid REFERENCES partner_parts (id),
  sku text CHECK (length(sku) <= 64),
  quantity_milli integer NOT NULL CHECK (quantity_milli BETWEEN 1 AND 1000000),
  unit_price_minor bigint NOT NULL CHECK (unit_price_minor BETWEEN 0 AND 100000000),
  tax_rate_bp integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
  net_minor bigint NOT NULL CHECK (net_minor >= 0),
  tax_minor bigint NOT NULL CHECK (tax_minor >= 0),
  total_minor bigint NOT NULL CHECK (total_minor = net_minor + tax_minor),
  decision text CHECK (decision IN ('approved', 'declined')),
  decided_at timestamptz,
  CHECK ((decision IS NULL) = (decided_at IS NULL)),
  CHECK (kind = 'part' OR part_id IS NULL),
  UNIQUE (estimate_id, position)
);

-- A sent estimate is immutable, in the database too: its lines change only while it is a draft,
-- except the customer's decision, written once while it is sent.
CREATE FUNCTION estimate_lines_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  parent text;
BEGIN
  SELECT status INTO parent FROM estimates WHERE id = coalesce(NEW.estimate_id, OLD.estimate_id);
  IF parent = 'draft' AND (TG_OP <> 'UPDATE' OR NEW.decision IS NULL) THEN
    RETURN coalesce(NEW, OLD);
  END IF;
  IF TG_OP = 'UPDATE' AND parent = 'sent' AND OLD.decision IS NULL AND NEW.decision IS NOT NULL
     AND (to_jsonb(NEW) - 'decision' - 'decided_at') = (to_jsonb(OLD) - 'decision' - 'decided_at') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'estimate % is %: its lines cannot change', coalesce(NEW.estimate_id, OLD.estimate_id), parent
    USING ERRCODE = 'check_violation', CONSTRAINT = 'estimate_immutable';
END
$$;
CREATE TRIGGER estimate_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON estimate_lines
  FOR EACH ROW EXECUTE FUNCTION estimate_lines_guard();

-- An estimate moves draft -> sent -> decided, or to superseded (a draft discarded, a sent one
-- replaced by its revision); once sent, nothing but its status and decision columns changes.
CREATE FUNCTION estimates_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> NEW.status
     AND NOT ((OLD.status = 'draft' AND NEW.status IN ('sent', 'superseded'))
              OR (OLD.status = 'sent' AND NEW.status IN ('decided', 'superseded'))) THEN
    RAISE EXCEPTION 'estimate % cannot move from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'estimate_status';
  END IF;
  IF OLD.status <> 'draft'
     AND (to_jsonb(NEW) - 'status' - 'approved_total_minor' - 'decided_at' - 'decided_by' - 'updated_at')
      <> (to_jsonb(OLD) - 'status' - 'approved_total_minor' - 'decided_at' - 'decided_by' - 'updated_at') THEN
    RAISE EXCEPTION 'estimate % is %: it cannot change', OLD.id, OLD.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'estimate_immutable';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER estimates_guard BEFORE UPDATE ON estimates FOR EACH ROW EXECUTE FUNCTION estimates_guard();

-- Parts orders: a repair center (tenant_id, partner_id) orders from a parts shop (supplier_*),
-- usually for a repair order. ordered -> accepted (the supplier's stock is taken) -> shipped ->
-- delivered; cancelled from ordered (either side) or accepted (the supplier, stock put back).
CREATE TABLE parts_orders (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid NOT NULL REFERENCES partners (id),
  supplier_tenant_id text NOT NULL REFERENCES tenants (id),
  supplier_partner_id uuid NOT NULL REFERENCES partners (id),
  repair_order_id uuid REFERENCES repair_orders (id),
  status text NOT NULL DEFAULT 'ordered' CHECK (status IN ('ordered', 'accepted', 'shipped', 'delivered', 'cancelled')),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  total_minor bigint NOT NULL CHECK (total_minor >= 0),
  notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
  tracking text CHECK (length(tracking) <= 200),
  cancel_reason text CHECK (length(cancel_reason) <= 500),
  created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  accepted_at timestamptz,
  shipped_at timestamptz,
  delivered_at timestamptz,
  cancelled_at timestamptz,
  CHECK (supplier_partner_id <> partner_id)
);
CREATE INDEX parts_orders_tenant_idx ON parts_orders (tenant_id, created_at);
CREATE INDEX parts_orders_supplier_idx ON parts_orders (supplier_tenant_id, created_at);
CREATE INDEX parts_orders_repair_order_idx ON parts_orders (repair_order_id) WHERE repair_order_id IS NOT NULL;

-- Each move is one step of the state machine, in the database as in the service.
CREATE FUNCTION parts_orders_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> NEW.status AND NOT (
       (OLD.status = 'ordered' AND NEW.status IN ('accepted', 'cancelled'))
    OR (OLD.status = 'accepted' AND NEW.status IN ('shipped', 'cancelled'))
    OR (OLD.status = 'shipped' AND NEW.status = 'delivered')) THEN
    RAISE EXCEPTION 'parts order % cannot move from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'parts_order_status';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER parts_orders_guard BEFORE UPDATE ON parts_orders FOR EACH ROW EXECUTE FUNCTION parts_orders_guard();

CREATE TABLE parts_order_lines (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  supplier_tenant_id text NOT NULL REFERENCES tenants (id),
  parts_order_id uuid NOT NULL REFERENCES parts_orders (id) ON DELETE CASCADE,
  part_id uuid NOT NULL REFERENCES partner_parts (id),
  sku text NOT NULL,
  name text NOT NULL,
  quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
  unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
  UNIQUE (parts_order_id, part_id)
);

-- Warranty on delivered work: one record per approved labour or part line, made when the repair
-- order becomes `delivered` (the trigger below), for the shop's terms: months and/or kilometres from
-- the check-in odometer, whichever comes first. NULL terms on the shop: 12 months and 20,000 km.
ALTER TABLE partners ADD COLUMN warranty_months integer CHECK (warranty_months BETWEEN 0 AND 120);
ALTER TABLE partners ADD COLUMN warranty_km integer CHECK (warranty_km BETWEEN 0 AND 1000000);
-- The sum of the ratings (rating_avg = sum / count, kept by the reviews trigger).
ALTER TABLE partners ADD COLUMN rating_sum integer NOT NULL DEFAULT 0 CHECK (rating_sum >= 0);

CREATE TABLE warranties (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid NOT NULL REFERENCES partners (id),
  repair_order_id uuid NOT NULL REFERENCES repair_orders (id),
  estimate_line_id uuid NOT NULL UNIQUE REFERENCES estimate_lines (id),
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  vehicle_id uuid,
  kind text NOT NULL CHECK (kind IN ('labour', 'part')),
  description text NOT NULL,
  starts_at timestamptz NOT NULL,
  -- NULL: no limit of that kind (terms of 0 months or 0 km mean none given of that kind).
  ends_at timestamptz,
  odometer_start_km integer,
  odometer_end_km integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX warranties_order_idx ON warranties (repair_order_id);
CREATE INDEX warranties_vehicle_idx ON warranties (vehicle_id);

-- Runs in the delivering transaction, whoever delivers (SECURITY DEFINER: it reads the order's
-- estimates and check-in and writes the shop's rows as the platform).
CREATE FUNCTION repair_orders_grant_warranties() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  term_months integer;
  term_km integer;
  start_km integer;
BEGIN
  SELECT coalesce(p.warranty_months, 12), coalesce(p.warranty_km, 20000) INTO term_months, term_km
    FROM partners p WHERE p.id = NEW.partner_id;
  SELECT c.odometer_km INTO start_km FROM check_ins c WHERE c.repair_order_id = NEW.id;
  INSERT INTO warranties (tenant_id, partner_id, repair_order_id, estimate_line_id, customer_tenant_id,
                          customer_user_id, vehicle_id, kind, description, starts_at, ends_at,
                          odometer_start_km, odometer_end_km)
  SELECT NEW.tenant_id, NEW.partner_id, NEW.id, l.id, NEW.customer_tenant_id, NEW.customer_user_id,
         NEW.vehicle_id, l.kind, l.description, now(),
         CASE WHEN term_months > 0 THEN now() + make_interval(0, term_months) END,
         start_km,
         CASE WHEN term_km > 0 AND start_km IS NOT NULL THEN start_km + term_km END
    FROM estimates e
    JOIN estimate_lines l ON l.estimate_id = e.id
   WHERE e.repair_order_id = NEW.id AND e.status = 'decided'
     AND l.decision = 'approved' AND l.kind IN ('labour', 'part')
  ON CONFLICT (estimate_line_id) DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER repair_orders_grant_warranties AFTER UPDATE OF status ON repair_orders
  FOR EACH ROW WHEN (NEW.status = 'delivered' AND OLD.status IS DISTINCT FROM 'delivered')
  EXECUTE FUNCTION repair_orders_grant_warranties();

-- Reviews: by the customer of a booking whose repair order was delivered (or closed), one per
-- booking; the shop answers once. Everyone reads them (listing). tenant_id is the shop's.
CREATE TABLE reviews (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid NOT NULL REFERENCES partners (id),
  booking_id uuid NOT NULL UNIQUE REFERENCES bookings (id),
  repair_order_id uuid NOT NULL REFERENCES repair_orders (id),
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  author_name text NOT NULL CHECK (length(author_name) BETWEEN 1 AND 100),
  rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  text text NOT NULL DEFAULT '' CHECK (length(text) <= 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  answer text CHECK (length(answer) BETWEEN 1 AND 2000),
  answered_at timestamptz,
  answered_by text,
  CHECK ((answer IS NULL) = (answered_at IS NULL))
);
CREATE INDEX reviews_partner_idx ON reviews (partner_id, created_at DESC, id DESC);

-- A review is of a delivered repair of the customer's booking, with the shop's and customer's facts
-- copied from the repair order (checked as the platform: the customer cannot read every order).
CREATE FUNCTION reviews_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NOT EXISTS (
      SELECT 1 FROM repair_orders o
       WHERE o.id = NEW.repair_order_id AND o.booking_id = NEW.booking_id
         AND o.tenant_id = NEW.tenant_id AND o.partner_id = NEW.partner_id
         AND o.customer_tenant_id = NEW.customer_tenant_id
         AND o.customer_user_id IS NOT DISTINCT FROM NEW.customer_user_id
         AND o.status IN ('delivered', 'closed')) THEN
      RAISE EXCEPTION 'review of booking %: not a delivered repair of this customer', NEW.booking_id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'review_after_delivery';
    END IF;
    -- Race-safe: the row lock orders concurrent reviews of one shop, and each adds to what the one
    -- before it left (an UPDATE re-reads the row it waited for).
    UPDATE partners
       SET rating_count = rating_count + 1,
           rating_sum = rating_sum + NEW.rating,
           rating_avg = round((rating_sum + NEW.rating)::numeric / (rating_count + 1), 2)
     WHERE id = NEW.partner_id;
    RETURN NEW;
  END IF;
  -- UPDATE: the answer only, once.
  IF OLD.answer IS NOT NULL
     OR (to_jsonb(NEW) - 'answer' - 'answered_at' - 'answered_by')
     <> (to_jsonb(OLD) - 'answer' - 'answered_at' - 'answered_by') THEN
    RAISE EXCEPTION 'review %: only its answer may be written, once', OLD.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'review_answer_once';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER reviews_guard BEFORE INSERT OR UPDATE ON reviews FOR EACH ROW EXECUTE FUNCTION reviews_guard();

-- Row-level security, forced (018): the shop's tenant, the platform, and the other party.
ALTER TABLE check_ins ENABLE ROW LEVEL SECURITY;
ALTER TABLE check_ins FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON check_ins USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON check_ins TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON check_ins FOR SELECT TO clutch_app
  USING (repair_work_customer(customer_tenant_id, customer_user_id));

ALTER TABLE check_in_photos ENABLE ROW LEVEL SECURITY;
ALTER TABLE check_in_photos FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON check_in_photos USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON check_in_photos TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON check_in_photos FOR SELECT TO clutch_app
  USING (repair_work_customer(customer_tenant_id, customer_user_id));

ALTER TABLE estimates ENABLE ROW LEVEL SECURITY;
ALTER TABLE estimates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON estimates USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON estimates TO clutch_system USING (true) WITH CHECK (true);
-- The customer reads what was sent to it (never a draft) and records its decision.
CREATE POLICY customer_access ON estimates FOR SELECT TO clutch_app
  USING (status <> 'draft' AND repair_work_customer(customer_tenant_id, customer_user_id));
CREATE POLICY customer_decision ON estimates FOR UPDATE TO clutch_app
  USING (status = 'sent' AND repair_work_customer(customer_tenant_id, customer_user_id))
  WITH CHECK (status = 'decided' AND repair_work_customer(customer_tenant_id, customer_user_id));

ALTER TABLE estimate_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE estimate_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON estimate_lines USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON estimate_lines TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON estimate_lines FOR SELECT TO clutch_app
  USING (repair_work_customer(customer_tenant_id, customer_user_id)
         AND EXISTS (SELECT 1 FROM estimates e WHERE e.id = estimate_id AND e.status <> 'draft'));
CREATE POLICY customer_decision ON estimate_lines FOR UPDATE TO clutch_app
  USING (repair_work_customer(customer_tenant_id, customer_user_id))
  WITH CHECK (repair_work_customer(customer_tenant_id, customer_user_id));

ALTER TABLE parts_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE parts_orders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON parts_orders USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON parts_orders TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY supplier_access ON parts_orders FOR SELECT TO clutch_app
  USING (supplier_tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY supplier_update ON parts_orders FOR UPDATE TO clutch_app
  USING (supplier_tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (supplier_tenant_id = current_setting('app.tenant_id', true));

ALTER TABLE parts_order_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE parts_order_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON parts_order_lines USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON parts_order_lines TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY supplier_access ON parts_order_lines FOR SELECT TO clutch_app
  USING (supplier_tenant_id = current_setting('app.tenant_id', true));

ALTER TABLE warranties ENABLE ROW LEVEL SECURITY;
ALTER TABLE warranties FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON warranties USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON warranties TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON warranties FOR SELECT TO clutch_app
  USING (repair_work_customer(customer_tenant_id, customer_user_id));

ALTER TABLE reviews ENABLE ROW LEVEL SECURITY;
ALTER TABLE reviews FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON reviews USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON reviews TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY listing_read ON reviews FOR SELECT TO clutch_app USING (true);
CREATE POLICY customer_access ON reviews FOR INSERT TO clutch_app
  WITH CHECK (repair_work_customer(customer_tenant_id, customer_user_id));

-- Tenant work. Nothing is deleted but a draft's lines (estimates are superseded, orders cancelled).
GRANT SELECT, INSERT ON check_ins, check_in_photos TO clutch_app;
GRANT SELECT, INSERT, UPDATE ON estimates, parts_orders TO clutch_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON estimate_lines TO clutch_app;
GRANT SELECT, INSERT ON parts_order_lines TO clutch_app;
-- Warranties are written by the delivery trigger (as the platform) only.
GRANT SELECT ON warranties TO clutch_app;
GRANT SELECT, INSERT ON reviews TO clutch_app;
GRANT UPDATE (answer, answered_at, answered_by) ON reviews TO clutch_app;

-- The other party announces its own moves on the order's tenant, like migration 026's customer_events:
-- a customer's decision on an estimate it can see, a parts shop's move of an order it supplies. The
-- read policy lets the INSERT's RETURNING see the row it wrote (and nothing of the shop's other events).
CREATE FUNCTION outbox_repair_work_event(p_topic text, p_tenant_id text, p_payload jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE p_topic
    WHEN 'estimate.decided' THEN EXISTS (
      SELECT 1 FROM estimates e WHERE e.id::text = p_payload ->> 'estimateId' AND e.tenant_id = p_tenant_id)
    WHEN 'parts-order.updated' THEN EXISTS (
      SELECT 1 FROM parts_orders p WHERE p.id::text = p_payload ->> 'partsOrderId' AND p.tenant_id = p_tenant_id)
    ELSE false
  END
$$;
GRANT EXECUTE ON FUNCTION outbox_repair_work_event(text, text, jsonb) TO clutch_app;
CREATE POLICY repair_work_party_events ON outbox_events FOR INSERT TO clutch_app
  WITH CHECK (outbox_repair_work_event(topic, tenant_id, payload));
CREATE POLICY repair_work_party_events_read ON outbox_events FOR SELECT TO clutch_app
  USING (topic IN ('estimate.decided', 'parts-order.updated') AND outbox_repair_work_event(topic, tenant_id, payload));
