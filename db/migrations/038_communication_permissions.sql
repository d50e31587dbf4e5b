-- Communication's permissions on the built-in roles (identity/src/rbac/permissions.ts and
-- built-in-roles.ts; identity/src/rbac/store.test.ts keeps the two equal). chat:read/write were
-- planned in 023 and are live now; chat:moderate (support reviews reported messages) and
-- notifications:send (an organisation's administrators tell its users) are new. Reading one's own
-- inbox, settings and devices needs no permission: every signed-in user has them.
INSERT INTO role_permissions (tenant_id, role_id, permission, condition)
SELECT 'platform', r.id, e.permission, e.condition::jsonb
  FROM (VALUES
    ('partner-admin', 'notifications:send', NULL),
    ('support', 'chat:moderate', NULL),
    ('platform-admin', 'chat:moderate', NULL),
    ('platform-admin', 'notifications:send', NULL)
  ) AS e (role_key, permission, condition)
  JOIN roles r ON r.tenant_id = 'platform' AND r.key = e.role_key AND r.built_in;
