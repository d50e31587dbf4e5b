-- From the car to the booking (issue 15, item 5): a booking made from a trouble code or an alert
-- opens the car to the shop for the time of the repair. The share is a row of vehicle_shares (023)
-- that names its booking, made in the booking's transaction, and it follows the booking: moved with
-- a reschedule, ended when the booking is cancelled, expires or is a no-show. The trouble-code
-- knowledge itself is code (api/src/error-codes/knowledge.ts), not data: nothing to store for it.

ALTER TABLE vehicle_shares ADD COLUMN booking_id uuid REFERENCES bookings (id) ON DELETE CASCADE;
-- One share per booking: the booking route may be retried (Idempotency-Key, a lost answer).
CREATE UNIQUE INDEX vehicle_shares_booking_idx ON vehicle_shares (booking_id) WHERE booking_id IS NOT NULL;

-- What the shop sees of a car it repairs: the car, its live readings, trouble codes and online
-- status. Not its location (where the car is parked is the owner's business), not commands.
CREATE FUNCTION booking_share_permissions() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY['vehicles:read', 'telemetry:read', 'dtc:read', 'status:read'] $$;

-- Creates the share of a booking's vehicle with the booking's shop, until the booking's end plus
-- `margin` (at most 14 days: a repair waiting for parts over a weekend, not an open-ended grant).
-- Car owners cannot write vehicle_shares (clutch_app only reads it), so this runs as the platform
-- (SECURITY DEFINER) and checks the caller itself, from the transaction's settings: the caller is
-- the booking's customer (its tenant and, for a car owner, its user), the vehicle is the customer's
-- own (not one shared with it), the booking is live. Everything else comes from the booking row;
-- the caller chooses nothing but the margin. Returns the share's id (the existing one on a retry).
CREATE FUNCTION create_booking_share(p_booking uuid, p_margin interval, p_created_by text) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  b bookings%ROWTYPE;
  v vehicles%ROWTYPE;
  confined uuid := rbac_confined_owner();
  share uuid;
BEGIN
  IF p_margin IS NULL OR p_margin < interval '0' OR p_margin > interval '14 days' THEN
    RAISE EXCEPTION 'booking share margin must be between 0 and 14 days' USING ERRCODE = '22023';
  END IF;
  SELECT * INTO b FROM bookings WHERE id = p_booking;
  IF NOT FOUND
     OR b.customer_tenant_id IS DISTINCT FROM current_setting('app.tenant_id', true)
     OR (confined IS NOT NULL AND b.customer_user_id IS DISTINCT FROM confined) THEN
    RAISE EXCEPTION 'no booking % of this customer', p_booking USING ERRCODE = '42501';
  END IF;
  IF b.status NOT IN ('held', 'requested', 'confirmed') THEN
    RAISE EXCEPTION 'booking % is %: no share', p_booking, b.status USING ERRCODE = '22023';
  END IF;
  SELECT * INTO v FROM vehicles WHERE id = b.vehicle_id;
  IF NOT FOUND OR v.tenant_id <> b.customer_tenant_id
     OR (confined IS NOT NULL AND v.owner_user_id IS DISTINCT FROM confined) THEN
    RAISE EXCEPTION 'vehicle of booking % is not the customer''s own', p_booking USING ERRCODE = '42501';
  END IF;
  SELECT id INTO share FROM vehicle_shares WHERE booking_id = p_booking;
  IF FOUND THEN
    RETURN share;
  END IF;
  INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, grantee_user_id, permissions,
                              valid_from, valid_until, created_by, booking_id)
  VALUES (v.tenant_id, v.id, b.tenant_id, NULL, booking_share_permissions(), now(), b.ends_at + p_margin,
          p_created_by, b.id)
  RETURNING id INTO share;
  RETURN share;
END
$$;
REVOKE ALL ON FUNCTION create_booking_share(uuid, interval, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION create_booking_share(uuid, interval, text), booking_share_permissions() TO clutch_app;

-- The share follows its booking, whoever changes it (customer, shop, the sweeper, the no-show job):
-- a new end moves the share's end by as much; a booking that will not happen ends the share now,
-- and live subscriptions of the shop to the car are re-decided (the `roles-changed` event with the
-- vehicle, as DELETE /api/vehicles/:id/shares/:shareId appends it).
CREATE FUNCTION booking_share_follows_booking() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  s record;
BEGIN
  IF NEW.status IN ('cancelled', 'expired', 'no_show') AND OLD.status IS DISTINCT FROM NEW.status THEN
    FOR s IN
      UPDATE vehicle_shares SET revoked_at = now(), revoked_by = 'system:booking-' || NEW.status
       WHERE booking_id = NEW.id AND revoked_at IS NULL
      RETURNING grantee_tenant_id, vehicle_id
    LOOP
      INSERT INTO outbox_events (tenant_id, topic, payload)
      VALUES (s.grantee_tenant_id, 'rbac.roles-changed', jsonb_build_object('vehicleId', s.vehicle_id));
    END LOOP;
  ELSIF NEW.ends_at IS DISTINCT FROM OLD.ends_at THEN
    UPDATE vehicle_shares SET valid_until = greatest(valid_from + interval '1 minute', NEW.ends_at + (valid_until - OLD.ends_at))
     WHERE booking_id = NEW.id AND revoked_at IS NULL;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER bookings_share_follows AFTER UPDATE OF status, ends_at ON bookings
  FOR EACH ROW EXECUTE FUNCTION booking_share_follows_booking();
