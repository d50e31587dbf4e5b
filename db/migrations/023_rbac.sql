-- Roles, their permissions and inheritance, grants of roles to users, and vehicle shares (issue 14).
--
-- Permissions are names from the catalogue in code (identity/src/rbac/permissions.ts); the policy
-- function (identity/src/rbac/policy.ts) reads these tables through a compiled, cached snapshot.
--
-- Platform roles belong to the `platform` tenant (migration 020), not to a NULL tenant: the foreign
-- key to tenants holds for every row and the one `tenant_isolation` policy serves both kinds (platform
-- staff work in the `platform` tenant). A platform role with `grantable_in` is a template: users of
-- the listed kinds of tenant may be granted it, and every tenant can read it (and inherit from it).
-- The built-in roles seeded below are such templates; the API refuses to edit or delete them.
--
-- Writes (role changes, grants, shares) run as the platform in an audited transaction after the
-- policy allowed them, so clutch_app only reads here.

CREATE TABLE roles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  key text NOT NULL CHECK (key ~ '^[a-z][a-z0-9-]{1,47}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  built_in boolean NOT NULL DEFAULT false,
  grantable_in text[] CHECK (
    grantable_in IS NULL
    OR (tenant_id = 'platform' AND cardinality(grantable_in) BETWEEN 1 AND 3
        AND grantable_in <@ ARRAY['consumer', 'partner', 'platform']::text[])
  ),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, key),
  -- For the composite foreign keys below: a child row is of its role's tenant.
  UNIQUE (tenant_id, id)
);

-- role_id inherits every permission of parent_id. The API refuses cycles (under a lock, so two
-- concurrent edits cannot close one); the snapshot compiler tolerates one should it ever exist.
CREATE TABLE role_parents (
  tenant_id text NOT NULL,
  role_id uuid NOT NULL,
  parent_id uuid NOT NULL REFERENCES roles (id),
  PRIMARY KEY (role_id, parent_id),
  FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
  CHECK (role_id <> parent_id)
);
CREATE INDEX role_parents_parent_idx ON role_parents (parent_id);

-- A role's own permissions. `condition` NULL: always; otherwise a condition of the closed language
-- (identity/src/rbac/conditions.ts: ownership, attribute equality, all/any), validated before it is
-- stored and again when the snapshot is compiled.
CREATE TABLE role_permissions (
  tenant_id text NOT NULL,
  role_id uuid NOT NULL,
  permission text NOT NULL CHECK (permission ~ '^[a-z][a-z0-9-]{0,31}:[a-z][a-z0-9-]{0,31}$'),
  condition jsonb CHECK (condition IS NULL OR jsonb_typeof(condition) = 'object'),
  PRIMARY KEY (role_id, permission),
  FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

-- A user's tenant and id together, so a grant names a user of its own tenant.
CREATE UNIQUE INDEX users_tenant_user_idx ON users (tenant_id, id);

-- A role given to a user: from valid_from until valid_until (exclusive; NULL: until taken away),
-- optionally bound to one resource (resource_type, resource_id: "technician of shop X"), in which
-- case it applies to that resource and what belongs to it only.
CREATE TABLE role_grants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  user_id uuid NOT NULL,
  role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  resource_type text CHECK (resource_type ~ '^[a-z][a-z0-9-]{0,31}$'),
  resource_id text CHECK (length(resource_id) BETWEEN 1 AND 128),
  valid_from timestamptz NOT NULL DEFAULT now(),
  valid_until timestamptz,
  granted_by text NOT NULL CHECK (length(granted_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
  CHECK ((resource_type IS NULL) = (resource_id IS NULL)),
  CHECK (valid_until IS NULL OR valid_until > valid_from)
);
-- One grant per user, role and bound resource: granting again changes its validity.
CREATE UNIQUE INDEX role_grants_unique_idx
  ON role_grants (user_id, role_id, coalesce(resource_type, ''), coalesce(resource_id, ''));
CREATE INDEX role_grants_role_idx ON role_grants (role_id);
CREATE INDEX role_grants_tenant_idx ON role_grants (tenant_id, user_id);

-- An owner shares a vehicle with a shop (grantee_tenant_id) or with one person (grantee_user_id, of
-- the grantee tenant), for the listed permissions, until valid_until (required: shares are
-- time-boxed) or until revoked. tenant_id is the vehicle's tenant (the owner's side). Ended shares
-- stay as the record of who could see what, and when.
CREATE TABLE vehicle_shares (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  vehicle_id uuid NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
  grantee_tenant_id text NOT NULL REFERENCES tenants (id),
  grantee_user_id uuid,
  permissions text[] NOT NULL CHECK (cardinality(permissions) BETWEEN 1 AND 32),
  valid_from timestamptz NOT NULL DEFAULT now(),
  valid_until timestamptz NOT NULL,
  created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  revoked_by text,
  FOREIGN KEY (grantee_tenant_id, grantee_user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
  CHECK (valid_until > valid_from)
);
CREATE INDEX vehicle_shares_vehicle_idx ON vehicle_shares (vehicle_id);
CREATE INDEX vehicle_shares_grantee_idx ON vehicle_shares (grantee_tenant_id) WHERE revoked_at IS NULL;

-- Row-level security, forced (the pattern of 018): tenant work sees its tenant's rows, the platform
-- (clutch_system) everything.
ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON roles USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON roles TO clutch_system USING (true) WITH CHECK (true);
-- Every tenant reads the platform's templates (what it may grant and inherit from).
CREATE POLICY templates ON roles FOR SELECT TO clutch_app USING (tenant_id = 'platform' AND grantable_in IS NOT NULL);

ALTER TABLE role_parents ENABLE ROW LEVEL SECURITY;
ALTER TABLE role_parents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON role_parents USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON role_parents TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY templates ON role_parents FOR SELECT TO clutch_app
  USING (EXISTS (SELECT 1 FROM roles r WHERE r.id = role_parents.role_id AND r.tenant_id = 'platform' AND r.grantable_in IS NOT NULL));

ALTER TABLE role_permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE role_permissions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON role_permissions USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON role_permissions TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY templates ON role_permissions FOR SELECT TO clutch_app
  USING (EXISTS (SELECT 1 FROM roles r WHERE r.id = role_permissions.role_id AND r.tenant_id = 'platform' AND r.grantable_in IS NOT NULL));

-- The car owner a transaction is confined to: the user (app.user_id, set for signed-in users) when
-- the transaction's tenant is the consumer tenant, where every owner lives and tenant isolation
-- alone cannot tell them apart; NULL otherwise (partner staff, keys, the platform).
CREATE FUNCTION rbac_confined_owner() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN nullif(current_setting('app.user_id', true), '') IS NULL THEN NULL
    WHEN EXISTS (SELECT 1 FROM tenants WHERE id = current_setting('app.tenant_id', true) AND kind = 'consumer')
      THEN nullif(current_setting('app.user_id', true), '')::uuid
  END
$$;

-- Vehicles shared, right now, with the transaction's tenant (or with its user in person). A share
-- with the consumer tenant always names a person. SECURITY DEFINER: it reads vehicle_shares as the
-- platform, so the vehicles policy that calls it does not recurse into vehicle_shares' policies.
CREATE FUNCTION rbac_shared_vehicle_ids() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(array_agg(s.vehicle_id), '{}')
    FROM vehicle_shares s
    JOIN tenants t ON t.id = s.grantee_tenant_id
   WHERE s.grantee_tenant_id = current_setting('app.tenant_id', true)
     AND s.revoked_at IS NULL AND s.valid_from <= now() AND s.valid_until > now()
     AND (s.grantee_user_id = nullif(current_setting('app.user_id', true), '')::uuid
          OR (s.grantee_user_id IS NULL AND t.kind <> 'consumer'))
$$;

-- Vehicles the transaction's user owns (read as the platform, for the vehicle_shares policy).
CREATE FUNCTION rbac_owned_vehicle_ids() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(array_agg(id), '{}') FROM vehicles
   WHERE owner_user_id = nullif(current_setting('app.user_id', true), '')::uuid
$$;

REVOKE ALL ON FUNCTION rbac_shared_vehicle_ids(), rbac_owned_vehicle_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rbac_confined_owner(), rbac_shared_vehicle_ids(), rbac_owned_vehicle_ids() TO clutch_app;

ALTER TABLE role_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE role_grants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON role_grants USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON role_grants TO clutch_system USING (true) WITH CHECK (true);
-- An owner sees only their own grants, not every owner's.
CREATE POLICY owner_confinement ON role_grants AS RESTRICTIVE TO clutch_app
  USING ((SELECT rbac_confined_owner()) IS NULL OR user_id = (SELECT rbac_confined_owner()));

ALTER TABLE vehicle_shares ENABLE ROW LEVEL SECURITY;
ALTER TABLE vehicle_shares FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vehicle_shares USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON vehicle_shares TO clutch_system USING (true) WITH CHECK (true);
-- The grantee's side: the shop sees the shares made to it (a share with one person: that person).
CREATE POLICY grantee_access ON vehicle_shares FOR SELECT TO clutch_app
  USING (grantee_tenant_id = current_setting('app.tenant_id', true)
         AND (grantee_user_id IS NULL OR grantee_user_id = nullif(current_setting('app.user_id', true), '')::uuid));
-- An owner sees the shares of their own vehicles and those made to them, not every owner's.
CREATE POLICY owner_confinement ON vehicle_shares AS RESTRICTIVE TO clutch_app
  USING ((SELECT rbac_confined_owner()) IS NULL
         OR grantee_user_id = (SELECT rbac_confined_owner())
         OR vehicle_id = ANY ((SELECT rbac_owned_vehicle_ids())::uuid[]));

-- Vehicles: the backstop under the policy function for shares and owners. The sub-selects run once
-- per statement (init plans), so a tenant's queries keep using their indexes.
CREATE POLICY shared_access ON vehicles FOR SELECT TO clutch_app USING (id = ANY ((SELECT rbac_shared_vehicle_ids())::uuid[]));
CREATE POLICY owner_confinement ON vehicles AS RESTRICTIVE TO clutch_app
  USING ((SELECT rbac_confined_owner()) IS NULL
         OR owner_user_id = (SELECT rbac_confined_owner())
         OR id = ANY ((SELECT rbac_shared_vehicle_ids())::uuid[]));
-- Only the vehicle row is opened: its devices, samples, trouble codes and commands stay under the
-- owner's tenant (a shop's command to a shared vehicle finds no device rather than writing a row of
-- another tenant); opening them is the next step (docs/rbac.md).

GRANT SELECT ON roles, role_parents, role_permissions, role_grants, vehicle_shares TO clutch_app;

-- The built-in roles (identity/src/rbac/built-in-roles.ts; identity/src/rbac/store.test.ts keeps the two equal).
INSERT INTO roles (tenant_id, key, name, description, built_in, grantable_in) VALUES
  ('platform', 'owner', 'Car owner', 'Sees and controls their own vehicles, shares them with shops, books and pays for repairs', true, ARRAY['consumer']),
  ('platform', 'technician', 'Technician', 'Works on the shop''s vehicles and those shared with it: data, trouble codes, commands', true, ARRAY['partner']),
  ('platform', 'parts-clerk', 'Parts clerk', 'Sees vehicles and their trouble codes to find parts, and the shop''s bookings', true, ARRAY['partner']),
  ('platform', 'fleet-manager', 'Fleet manager', 'Runs the organisation''s vehicles: live data, locations, commands, shares and bookings', true, ARRAY['partner']),
  ('platform', 'partner-admin', 'Partner administrator', 'Everything the organisation''s staff do, plus its people, roles, keys and audit trail', true, ARRAY['partner']),
  ('platform', 'support', 'Support', 'Platform staff who help customers: reads across organisations, signs sessions out', true, ARRAY['platform']),
  ('platform', 'platform-admin', 'Platform administrator', 'Every permission, on every organisation', true, ARRAY['platform']);

INSERT INTO role_parents (tenant_id, role_id, parent_id)
SELECT 'platform', c.id, p.id
  FROM (VALUES
    ('partner-admin', 'fleet-manager'),
    ('partner-admin', 'technician'),
    ('partner-admin', 'parts-clerk'),
    ('platform-admin', 'support')
  ) AS e (child, parent)
  JOIN roles c ON c.tenant_id = 'platform' AND c.key = e.child
  JOIN roles p ON p.tenant_id = 'platform' AND p.key = e.parent;

INSERT INTO role_permissions (tenant_id, role_id, permission, condition)
SELECT 'platform', r.id, e.permission, e.condition::jsonb
  FROM (VALUES
    ('owner', 'vehicles:read', '{"ownership":"vehicle"}'),
    ('owner', 'telemetry:read', '{"ownership":"vehicle"}'),
    ('owner', 'location:read', '{"ownership":"vehicle"}'),
    ('owner', 'dtc:read', '{"ownership":"vehicle"}'),
    ('owner', 'status:read', '{"ownership":"vehicle"}'),
    ('owner', 'commands:write', '{"ownership":"vehicle"}'),
    ('owner', 'vehicle-shares:read', '{"ownership":"vehicle"}'),
    ('owner', 'vehicle-shares:write', '{"ownership":"vehicle"}'),
    ('owner', 'bookings:read', '{"ownership":"booking"}'),
    ('owner', 'bookings:write', '{"ownership":"booking"}'),
    ('owner', 'payments:read', '{"ownership":"booking"}'),
    ('owner', 'payments:write', '{"ownership":"booking"}'),
    ('owner', 'chat:read', '{"ownership":"booking"}'),
    ('owner', 'chat:write', '{"ownership":"booking"}'),
    ('technician', 'vehicles:read', NULL),
    ('technician', 'telemetry:read', NULL),
    ('technician', 'dtc:read', NULL),
    ('technician', 'status:read', NULL),
    ('technician', 'commands:write', NULL),
    ('technician', 'bookings:read', '{"ownership":"shop"}'),
    ('technician', 'chat:read', '{"ownership":"shop"}'),
    ('technician', 'chat:write', '{"ownership":"shop"}'),
    ('parts-clerk', 'vehicles:read', NULL),
    ('parts-clerk', 'dtc:read', NULL),
    ('parts-clerk', 'bookings:read', '{"ownership":"shop"}'),
    ('parts-clerk', 'chat:read', '{"ownership":"shop"}'),
    ('parts-clerk', 'chat:write', '{"ownership":"shop"}'),
    ('fleet-manager', 'vehicles:read', NULL),
    ('fleet-manager', 'telemetry:read', NULL),
    ('fleet-manager', 'location:read', NULL),
    ('fleet-manager', 'dtc:read', NULL),
    ('fleet-manager', 'status:read', NULL),
    ('fleet-manager', 'commands:write', NULL),
    ('fleet-manager', 'vehicle-shares:read', NULL),
    ('fleet-manager', 'vehicle-shares:write', NULL),
    ('fleet-manager', 'bookings:read', NULL),
    ('fleet-manager', 'bookings:write', NULL),
    ('fleet-manager', 'payments:read', NULL),
    ('fleet-manager', 'chat:read', NULL),
    ('fleet-manager', 'chat:write', NULL),
    ('partner-admin', 'roles:read', NULL),
    ('partner-admin', 'roles:write', NULL),
    ('partner-admin', 'roles:grant', NULL),
    ('partner-admin', 'users:read', NULL),
    ('partner-admin', 'users:write', NULL),
    ('partner-admin', 'sessions:read', NULL),
    ('partner-admin', 'sessions:revoke', NULL),
    ('partner-admin', 'api-keys:read', NULL),
    ('partner-admin', 'api-keys:write', NULL),
    ('partner-admin', 'devices:read', NULL),
    ('partner-admin', 'dead-letters:read', NULL),
    ('partner-admin', 'ai:read', NULL),
    ('partner-admin', 'security-reports:read', NULL),
    ('partner-admin', 'payments:write', NULL),
    ('partner-admin', 'payments:refund', NULL),
    ('support', 'vehicles:read', NULL),
    ('support', 'telemetry:read', NULL),
    ('support', 'dtc:read', NULL),
    ('support', 'status:read', NULL),
    ('support', 'devices:read', NULL),
    ('support', 'api-keys:read', NULL),
    ('support', 'tenants:read', NULL),
    ('support', 'dead-letters:read', NULL),
    ('support', 'ai:read', NULL),
    ('support', 'users:read', NULL),
    ('support', 'sessions:read', NULL),
    ('support', 'sessions:revoke', NULL),
    ('support', 'roles:read', NULL),
    ('support', 'vehicle-shares:read', NULL),
    ('support', 'security-reports:read', NULL),
    ('support', 'bookings:read', NULL),
    ('support', 'payments:read', NULL),
    ('support', 'chat:read', NULL),
    ('platform-admin', 'vehicles:read', NULL),
    ('platform-admin', 'telemetry:read', NULL),
    ('platform-admin', 'location:read', NULL),
    ('platform-admin', 'location:write', NULL),
    ('platform-admin', 'dtc:read', NULL),
    ('platform-admin', 'status:read', NULL),
    ('platform-admin', 'commands:write', NULL),
    ('platform-admin', 'devices:read', NULL),
    ('platform-admin', 'devices:write', NULL),
    ('platform-admin', 'api-keys:read', NULL),
    ('platform-admin', 'api-keys:write', NULL),
    ('platform-admin', 'tenants:read', NULL),
    ('platform-admin', 'tenants:write', NULL),
    ('platform-admin', 'dead-letters:read', NULL),
    ('platform-admin', 'dead-letters:replay', NULL),
    ('platform-admin', 'ai:read', NULL),
    ('platform-admin', 'ai:write', NULL),
    ('platform-admin', 'security-reports:read', NULL),
    ('platform-admin', 'roles:read', NULL),
    ('platform-admin', 'roles:write', NULL),
    ('platform-admin', 'roles:grant', NULL),
    ('platform-admin', 'users:read', NULL),
    ('platform-admin', 'users:write', NULL),
    ('platform-admin', 'sessions:read', NULL),
    ('platform-admin', 'sessions:revoke', NULL),
    ('platform-admin', 'vehicle-shares:read', NULL),
    ('platform-admin', 'vehicle-shares:write', NULL),
    ('platform-admin', 'bookings:read', NULL),
    ('platform-admin', 'bookings:write', NULL),
    ('platform-admin', 'payments:read', NULL),
    ('platform-admin', 'payments:write', NULL),
    ('platform-admin', 'payments:refund', NULL),
    ('platform-admin', 'chat:read', NULL),
    ('platform-admin', 'chat:write', NULL)
  ) AS e (role, permission, condition)
  JOIN roles r ON r.tenant_id = 'platform' AND r.key = e.role;
