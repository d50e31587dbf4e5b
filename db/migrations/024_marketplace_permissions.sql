-- The marketplace's permissions on the built-in roles (identity/src/rbac/permissions.ts and
-- built-in-roles.ts; identity/src/rbac/store.test.ts keeps the two equal). Bookings were planned in
-- 023 and are live now; repair orders, estimates, parts orders, reviews and the shop's profile are new.
INSERT INTO role_permissions (tenant_id, role_id, permission, condition)
SELECT 'platform', r.id, e.permission, e.condition::jsonb
  FROM (VALUES
    ('owner', 'repair-orders:read', '{"ownership":"booking"}'),
    ('owner', 'estimates:approve', '{"ownership":"booking"}'),
    ('owner', 'reviews:write', '{"ownership":"booking"}'),
    ('technician', 'repair-orders:read', '{"ownership":"shop"}'),
    ('technician', 'repair-orders:write', '{"ownership":"shop"}'),
    ('technician', 'estimates:write', '{"ownership":"shop"}'),
    ('technician', 'parts-orders:read', '{"ownership":"shop"}'),
    ('technician', 'parts-orders:write', '{"ownership":"shop"}'),
    ('parts-clerk', 'repair-orders:read', '{"ownership":"shop"}'),
    ('parts-clerk', 'parts-orders:read', '{"ownership":"shop"}'),
    ('parts-clerk', 'parts-orders:write', '{"ownership":"shop"}'),
    ('fleet-manager', 'repair-orders:read', NULL),
    ('fleet-manager', 'estimates:approve', NULL),
    ('partner-admin', 'partners:write', NULL),
    ('partner-admin', 'reviews:answer', NULL),
    ('support', 'repair-orders:read', NULL),
    ('support', 'parts-orders:read', NULL),
    ('platform-admin', 'partners:write', NULL),
    ('platform-admin', 'repair-orders:read', NULL),
    ('platform-admin', 'repair-orders:write', NULL),
    ('platform-admin', 'estimates:write', NULL),
    ('platform-admin', 'estimates:approve', NULL),
    ('platform-admin', 'parts-orders:read', NULL),
    ('platform-admin', 'parts-orders:write', NULL),
    ('platform-admin', 'reviews:write', NULL),
    ('platform-admin', 'reviews:answer', NULL)
  ) AS e (role_key, permission, condition)
  JOIN roles r ON r.tenant_id = 'platform' AND r.key = e.role_key AND r.built_in;
