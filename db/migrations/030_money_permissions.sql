-- Money's permissions on the built-in roles (identity/src/rbac/permissions.ts and built-in-roles.ts;
-- identity/src/rbac/store.test.ts keeps the two equal). payments:* were planned in 023 and are live
-- now; wallets, commissions and fraud are new. An owner's wallet is theirs (`ownership: booking`
-- covers a customer's own records: policy.ts BOOKING_FAMILY); a fleet's is its organisation's.
INSERT INTO role_permissions (tenant_id, role_id, permission, condition)
SELECT 'platform', r.id, e.permission, e.condition::jsonb
  FROM (VALUES
    ('owner', 'wallet:read', '{"ownership":"booking"}'),
    ('owner', 'wallet:write', '{"ownership":"booking"}'),
    ('fleet-manager', 'payments:write', NULL),
    ('fleet-manager', 'wallet:read', NULL),
    ('fleet-manager', 'wallet:write', NULL),
    ('partner-admin', 'commissions:read', NULL),
    ('support', 'wallet:read', NULL),
    ('support', 'commissions:read', NULL),
    ('support', 'fraud:read', NULL),
    ('platform-admin', 'wallet:read', NULL),
    ('platform-admin', 'wallet:write', NULL),
    ('platform-admin', 'commissions:read', NULL),
    ('platform-admin', 'commissions:write', NULL),
    ('platform-admin', 'fraud:read', NULL),
    ('platform-admin', 'fraud:write', NULL)
  ) AS e (role_key, permission, condition)
  JOIN roles r ON r.tenant_id = 'platform' AND r.key = e.role_key AND r.built_in;
