-- Shop resources, bookings with their reservations, and repair orders with their lifecycle (issue 15).
--
-- Two-party tables (bookings, booking_reservations, repair_orders, repair_order_events): tenant_id is
-- the shop's tenant; customer_tenant_id / customer_user_id say who the customer is, and the
-- `customer_access` policy lets that side read and write its own rows (an owner of the consumer tenant
-- only their own: rbac_confined_owner(), migration 023). docs/bookings.md explains the rules.
--
-- No double booking, in the database: every booking holds one reservation per resource it needs
-- (technician, bay or lift, equipment), and an exclusion constraint refuses two live reservations of
-- one resource whose time ranges overlap. A reservation stops being live when `released_at` is set
-- (cancelled, rescheduled, expired hold): the constraint's predicate must be immutable, so it cannot
-- say "hold not yet expired" itself; instead a new attempt first releases expired holds on the
-- resources it wants (booking_release_expired_holds below), in its own transaction, and a sweeper job
-- releases the rest.
--
-- The repair-order lifecycle (api/src/repair-orders/lifecycle.ts) is written again here as the table
-- of allowed transitions, and a trigger refuses every other change of status, whoever makes it.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- For the composite foreign key below: a booking's service is one of its shop's (partners already
-- has UNIQUE (tenant_id, id) for the shop's tenant).
CREATE UNIQUE INDEX IF NOT EXISTS partner_services_partner_id_id_key ON partner_services (partner_id, id);

-- What a service needs besides a technician with its skill: a lift rather than any bay, and pieces
-- of equipment with the listed capabilities (a resource of kind 'equipment' with that skill).
ALTER TABLE partner_services ADD COLUMN IF NOT EXISTS needs_lift boolean NOT NULL DEFAULT false;
ALTER TABLE partner_services ADD COLUMN IF NOT EXISTS required_equipment text[] NOT NULL DEFAULT '{}'
  CHECK (cardinality(required_equipment) <= 8);

CREATE TABLE shop_resources (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  partner_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('bay', 'lift', 'technician', 'equipment')),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  skills text[] NOT NULL DEFAULT '{}' CHECK (cardinality(skills) <= 32),
  -- A technician's account (a user of the shop's tenant).
  user_id uuid,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id),
  CHECK (user_id IS NULL OR kind = 'technician'),
  UNIQUE (partner_id, id)
);
CREATE INDEX shop_resources_partner_idx ON shop_resources (partner_id) WHERE active;

-- A shop's booking rules (defaults when it has no row): the slot grid, how soon and how long a hold
-- lasts, and the fees. Fees are in the shop's currency (partners.currency), in minor units.
CREATE TABLE shop_booking_rules (
  tenant_id text NOT NULL,
  partner_id uuid PRIMARY KEY,
  slot_step_minutes integer NOT NULL DEFAULT 15 CHECK (slot_step_minutes IN (5, 10, 15, 20, 30, 60)),
  min_lead_minutes integer NOT NULL DEFAULT 60 CHECK (min_lead_minutes BETWEEN 0 AND 10080),
  hold_minutes integer NOT NULL DEFAULT 5 CHECK (hold_minutes BETWEEN 1 AND 30),
  free_cancellation_hours integer NOT NULL DEFAULT 24 CHECK (free_cancellation_hours BETWEEN 0 AND 720),
  cancellation_fee_minor integer NOT NULL DEFAULT 0 CHECK (cancellation_fee_minor BETWEEN 0 AND 100000000),
  reschedule_notice_hours integer NOT NULL DEFAULT 12 CHECK (reschedule_notice_hours BETWEEN 0 AND 720),
  no_show_grace_minutes integer NOT NULL DEFAULT 30 CHECK (no_show_grace_minutes BETWEEN 5 AND 1440),
  no_show_fee_minor integer NOT NULL DEFAULT 0 CHECK (no_show_fee_minor BETWEEN 0 AND 100000000),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE bookings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  partner_id uuid NOT NULL,
  customer_tenant_id text NOT NULL REFERENCES tenants (id),
  customer_user_id uuid,
  vehicle_id uuid REFERENCES vehicles (id) ON DELETE SET NULL,
  service_id uuid,
  -- What was booked, as it was then (the shop may change or remove the service later).
  service_code text NOT NULL,
  service_name text NOT NULL,
  status text NOT NULL CHECK (status IN ('held', 'requested', 'confirmed', 'cancelled', 'expired', 'no_show')),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  hold_expires_at timestamptz,
  source jsonb NOT NULL DEFAULT '{"kind": "manual"}' CHECK (jsonb_typeof(source) = 'object'),
  notes text CHECK (length(notes) <= 2000),
  price_minor integer CHECK (price_minor >= 0),
  currency char(3) NOT NULL,
  cancellation_fee_minor integer NOT NULL DEFAULT 0 CHECK (cancellation_fee_minor >= 0),
  no_show_fee_minor integer NOT NULL DEFAULT 0 CHECK (no_show_fee_minor >= 0),
  cancelled_at timestamptz,
  cancelled_by text CHECK (cancelled_by IN ('customer', 'shop', 'system')),
  cancel_reason text CHECK (length(cancel_reason) <= 500),
  reschedule_count integer NOT NULL DEFAULT 0,
  created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id),
  FOREIGN KEY (partner_id, service_id) REFERENCES partner_services (partner_id, id) ON DELETE SET NULL (service_id),
  FOREIGN KEY (customer_tenant_id, customer_user_id) REFERENCES users (tenant_id, id),
  CHECK (ends_at > starts_at),
  CHECK (status <> 'held' OR hold_expires_at IS NOT NULL),
  CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
  UNIQUE (tenant_id, id)
);
CREATE INDEX bookings_partner_starts_idx ON bookings (partner_id, starts_at);
CREATE INDEX bookings_customer_idx ON bookings (customer_tenant_id, customer_user_id, created_at DESC);
CREATE INDEX bookings_tenant_created_idx ON bookings (tenant_id, created_at DESC);
-- The sweeper's and the no-show job's work lists.
CREATE INDEX bookings_held_idx ON bookings (hold_expires_at) WHERE status = 'held';
CREATE INDEX bookings_confirmed_starts_idx ON bookings (starts_at) WHERE status = 'confirmed';

CREATE TABLE booking_reservations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  booking_id uuid NOT NULL,
  partner_id uuid NOT NULL,
  resource_id uuid NOT NULL,
  -- Copied from the resource: the customer's side sees what it booked, not the shop's resource names.
  resource_kind text NOT NULL CHECK (resource_kind IN ('bay', 'lift', 'technician', 'equipment')),
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  -- The resource's busy time: the booking's, widened by the service's buffers before and after.
  during tstzrange NOT NULL CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)),
  hold_expires_at timestamptz,
  released_at timestamptz,
  FOREIGN KEY (tenant_id, booking_id) REFERENCES bookings (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (partner_id, resource_id) REFERENCES shop_resources (partner_id, id),
  CONSTRAINT booking_reservations_no_overlap
    EXCLUDE USING gist (resource_id WITH =, during WITH &&) WHERE (released_at IS NULL)
);
CREATE INDEX booking_reservations_booking_idx ON booking_reservations (booking_id);
CREATE INDEX booking_reservations_partner_idx ON booking_reservations USING gist (partner_id, during)
  WHERE released_at IS NULL;
CREATE INDEX booking_reservations_held_idx ON booking_reservations (resource_id, hold_expires_at)
  WHERE released_at IS NULL AND hold_expires_at IS NOT NULL;

-- The lifecycle: every allowed (from, to), the sides that may make it, and a guard the database can
-- check. 'work_approved': only once some estimate line was approved (after a declined supplemental
-- estimate, the approved work goes on).
CREATE TABLE repair_order_transitions (
  from_status text NOT NULL,
  to_status text NOT NULL,
  sides text[] NOT NULL CHECK (cardinality(sides) > 0 AND sides <@ ARRAY['shop', 'customer', 'system']),
  guard text CHECK (guard IN ('work_approved')),
  PRIMARY KEY (from_status, to_status)
);

INSERT INTO repair_order_transitions (from_status, to_status, sides, guard) VALUES
  ('requested', 'confirmed', ARRAY['shop'], NULL),
  ('requested', 'cancelled', ARRAY['shop', 'customer', 'system'], NULL),
  ('confirmed', 'checked_in', ARRAY['shop'], NULL),
  ('confirmed', 'cancelled', ARRAY['shop', 'customer', 'system'], NULL),
  ('confirmed', 'no_show', ARRAY['shop', 'system'], NULL),
  ('checked_in', 'diagnosis', ARRAY['shop'], NULL),
  ('checked_in', 'estimate_sent', ARRAY['shop'], NULL),
  ('checked_in', 'delivered_without_repair', ARRAY['shop'], NULL),
  ('diagnosis', 'estimate_sent', ARRAY['shop'], NULL),
  ('diagnosis', 'delivered_without_repair', ARRAY['shop'], NULL),
  ('estimate_sent', 'approved', ARRAY['customer'], NULL),
  ('estimate_sent', 'declined', ARRAY['customer'], NULL),
  ('approved', 'in_progress', ARRAY['shop', 'system'], NULL),
  ('declined', 'estimate_sent', ARRAY['shop'], NULL),
  ('declined', 'in_progress', ARRAY['shop', 'system'], 'work_approved'),
  ('declined', 'delivered_without_repair', ARRAY['shop'], NULL),
  ('in_progress', 'waiting_parts', ARRAY['shop', 'system'], NULL),
  ('in_progress', 'waiting_customer', ARRAY['shop'], NULL),
  ('in_progress', 'sublet', ARRAY['shop'], NULL),
  ('in_progress', 'estimate_sent', ARRAY['shop'], NULL),
  ('in_progress', 'quality_check', ARRAY['shop'], NULL),
  ('waiting_parts', 'in_progress', ARRAY['shop', 'system'], NULL),
  ('waiting_parts', 'estimate_sent', ARRAY['shop'], NULL),
  ('waiting_customer', 'in_progress', ARRAY['shop'], NULL),
  ('waiting_customer', 'estimate_sent', ARRAY['shop'], NULL),
  ('sublet', 'in_progress', ARRAY['shop'], NULL),
  ('sublet', 'estimate_sent', ARRAY['shop'], NULL),
  ('quality_check', 'in_progress', ARRAY['shop'], NULL),
  ('quality_check', 'ready_for_pickup', ARRAY['shop'], NULL),
  ('ready_for_pickup', 'delivered', ARRAY['shop'], NULL),
  ('delivered', 'closed', ARRAY['shop', 'system'], NULL),
  ('delivered_without_repair', 'closed', ARRAY['shop', 'system'], NULL);

CREATE TABLE repair_orders (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  partner_id uuid NOT NULL,
  booking_id uuid UNIQUE,
  customer_tenant_id text NOT NULL REFERENCES tenants (id),
  customer_user_id uuid,
  vehicle_id uuid REFERENCES vehicles (id) ON DELETE SET NULL,
  status text NOT NULL CHECK (status IN (
    'requested', 'confirmed', 'checked_in', 'diagnosis', 'estimate_sent', 'approved', 'declined',
    'in_progress', 'waiting_parts', 'waiting_customer', 'sublet', 'quality_check', 'ready_for_pickup',
    'delivered', 'closed', 'cancelled', 'no_show', 'delivered_without_repair')),
  status_changed_at timestamptz NOT NULL DEFAULT now(),
  -- Set by the trigger the first time the order reaches 'approved' (the 'work_approved' guard).
  approved_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id),
  FOREIGN KEY (tenant_id, booking_id) REFERENCES bookings (tenant_id, id),
  FOREIGN KEY (customer_tenant_id, customer_user_id) REFERENCES users (tenant_id, id),
  UNIQUE (tenant_id, id)
);
CREATE INDEX repair_orders_board_idx ON repair_orders (tenant_id, status, status_changed_at DESC);
CREATE INDEX repair_orders_partner_idx ON repair_orders (partner_id, created_at DESC);
CREATE INDEX repair_orders_customer_idx ON repair_orders (customer_tenant_id, customer_user_id, created_at DESC);

-- The one gate on status, whoever writes: a new order starts 'requested'; a change must be a row of
-- repair_order_transitions whose guard holds. SQLSTATE 23514 (check_violation) with the constraint
-- name repair_order_transition, so the API can tell it apart.
CREATE FUNCTION repair_order_status_gate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  allowed repair_order_transitions%ROWTYPE;
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'requested' THEN
      RAISE EXCEPTION 'a repair order starts as requested, not %', NEW.status
        USING ERRCODE = 'check_violation', CONSTRAINT = 'repair_order_transition';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.status IS NOT DISTINCT FROM OLD.status THEN
    RETURN NEW;
  END IF;
  SELECT * INTO allowed FROM repair_order_transitions WHERE from_status = OLD.status AND to_status = NEW.status;
  IF NOT FOUND OR (allowed.guard = 'work_approved' AND OLD.approved_at IS NULL) THEN
    RAISE EXCEPTION 'repair order % cannot move from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'repair_order_transition';
  END IF;
  IF NEW.status = 'approved' AND OLD.approved_at IS NULL THEN
    NEW.approved_at := now();
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER repair_orders_status_gate BEFORE INSERT OR UPDATE OF status ON repair_orders
  FOR EACH ROW EXECUTE FUNCTION repair_order_status_gate();

-- The timeline: append-only (clutch_app may not update or delete it).
CREATE TABLE repair_order_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL,
  repair_order_id uuid NOT NULL,
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  from_status text,
  to_status text NOT NULL,
  actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  side text NOT NULL CHECK (side IN ('shop', 'customer', 'system')),
  at timestamptz NOT NULL DEFAULT now(),
  note text CHECK (length(note) <= 2000),
  data jsonb CHECK (data IS NULL OR jsonb_typeof(data) = 'object'),
  FOREIGN KEY (tenant_id, repair_order_id) REFERENCES repair_orders (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX repair_order_events_order_idx ON repair_order_events (repair_order_id, id);

-- Row-level security: the shop's tenant, the platform, and the customer's side.
ALTER TABLE shop_resources ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop_resources FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON shop_resources USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON shop_resources TO clutch_system USING (true) WITH CHECK (true);

ALTER TABLE shop_booking_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop_booking_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON shop_booking_rules USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON shop_booking_rules TO clutch_system USING (true) WITH CHECK (true);
-- Customers see a listed shop's rules (its fees) before they book.
CREATE POLICY listing_read ON shop_booking_rules FOR SELECT TO clutch_app USING (partner_listed(partner_id));

ALTER TABLE bookings ENABLE ROW LEVEL SECURITY;
ALTER TABLE bookings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bookings USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON bookings TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON bookings TO clutch_app
  USING (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())))
  WITH CHECK (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())));

ALTER TABLE booking_reservations ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking_reservations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON booking_reservations USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON booking_reservations TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON booking_reservations TO clutch_app
  USING (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())))
  WITH CHECK (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())));

ALTER TABLE repair_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE repair_orders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON repair_orders USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON repair_orders TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON repair_orders TO clutch_app
  USING (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())))
  WITH CHECK (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())));

ALTER TABLE repair_order_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE repair_order_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON repair_order_events USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON repair_order_events TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON repair_order_events TO clutch_app
  USING (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())))
  WITH CHECK (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())));

-- The customer's side announces its own changes (a booking request, a cancellation, an approval)
-- on the shop's tenant, so both rooms hear them: only for a booking or repair order it can see.
-- The same condition for reading them back (INSERT ... RETURNING needs the row to be visible).
CREATE FUNCTION outbox_customer_event(p_topic text, p_tenant_id text, p_payload jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE p_topic
    WHEN 'booking.updated' THEN EXISTS (
      SELECT 1 FROM bookings b WHERE b.id::text = p_payload ->> 'bookingId' AND b.tenant_id = p_tenant_id)
    WHEN 'repair-order.status-changed' THEN EXISTS (
      SELECT 1 FROM repair_orders r WHERE r.id::text = p_payload ->> 'repairOrderId' AND r.tenant_id = p_tenant_id)
    ELSE false
  END
$$;
GRANT EXECUTE ON FUNCTION outbox_customer_event(text, text, jsonb) TO clutch_app;
CREATE POLICY customer_events ON outbox_events FOR INSERT TO clutch_app
  WITH CHECK (outbox_customer_event(topic, tenant_id, payload));
CREATE POLICY customer_events_read ON outbox_events FOR SELECT TO clutch_app
  USING (topic IN ('booking.updated', 'repair-order.status-changed') AND outbox_customer_event(topic, tenant_id, payload));

GRANT SELECT, INSERT, UPDATE, DELETE ON shop_resources TO clutch_app;
GRANT SELECT, INSERT, UPDATE ON shop_booking_rules TO clutch_app;
GRANT SELECT, INSERT, UPDATE ON bookings, booking_reservations, repair_orders TO clutch_app;
GRANT SELECT, INSERT ON repair_order_events TO clutch_app;
GRANT SELECT ON repair_order_transitions TO clutch_app;

-- What availability needs from any caller (a customer browsing a shop): the shop's active resources
-- without names or accounts, and their busy times without whose they are. SECURITY DEFINER: read as
-- the platform, exposing only these columns.
CREATE FUNCTION shop_capacity(p_partner_id uuid)
RETURNS TABLE (id uuid, kind text, skills text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.id, r.kind, r.skills FROM shop_resources r WHERE r.partner_id = p_partner_id AND r.active
$$;

CREATE FUNCTION shop_busy(p_partner_id uuid, p_from timestamptz, p_to timestamptz, p_resource_ids uuid[] DEFAULT NULL)
RETURNS TABLE (resource_id uuid, during tstzrange)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.resource_id, r.during FROM booking_reservations r
   WHERE r.partner_id = p_partner_id AND r.released_at IS NULL
     AND (r.hold_expires_at IS NULL OR r.hold_expires_at > now())
     AND r.during && tstzrange(p_from, p_to, '[)')
     AND (p_resource_ids IS NULL OR r.resource_id = ANY (p_resource_ids))
$$;

-- Ends the holds that have expired (on the given resources; NULL: all of them): their reservations
-- are released, their bookings become 'expired', and each such booking announces it. A booking
-- attempt calls it for the resources it wants before inserting, so an expired hold never blocks it;
-- the sweeper calls it for all. Returns how many holds it ended.
CREATE FUNCTION booking_release_expired_holds(p_resource_ids uuid[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  ended integer;
BEGIN
  WITH expired AS (
    UPDATE bookings b SET status = 'expired', updated_at = now()
     WHERE b.status = 'held' AND b.hold_expires_at <= now()
       AND (p_resource_ids IS NULL OR EXISTS (
             SELECT 1 FROM booking_reservations r
              WHERE r.booking_id = b.id AND r.released_at IS NULL AND r.resource_id = ANY (p_resource_ids)))
    RETURNING b.*
  ), released AS (
    UPDATE booking_reservations r SET released_at = now()
      FROM expired e WHERE r.booking_id = e.id AND r.released_at IS NULL
    RETURNING r.id
  ), announced AS (
    INSERT INTO outbox_events (tenant_id, topic, payload)
    SELECT e.tenant_id, 'booking.updated', jsonb_build_object(
             'bookingId', e.id, 'partnerId', e.partner_id, 'customerTenantId', e.customer_tenant_id,
             'customerUserId', e.customer_user_id, 'vehicleId', e.vehicle_id, 'status', e.status,
             'startsAt', e.starts_at, 'endsAt', e.ends_at, 'at', now())
      FROM expired e
    RETURNING 1
  )
  -- Data-modifying WITH parts run to completion whether or not the outer query reads them.
  SELECT count(*)::int INTO ended FROM expired;
  RETURN ended;
END
$$;

REVOKE ALL ON FUNCTION shop_capacity(uuid), shop_busy(uuid, timestamptz, timestamptz, uuid[]),
  booking_release_expired_holds(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop_capacity(uuid), shop_busy(uuid, timestamptz, timestamptz, uuid[]),
  booking_release_expired_holds(uuid[]) TO clutch_app;
