-- Row-level security forced on every tenant table, the owner included (issue 13).
--
-- clutch_system is the platform's own unconfined access (ingest, administration, migrations): a
-- NOLOGIN role the migrating owner is a member of, named by a `system_access` policy on every tenant
-- table. Tenant work runs `SET LOCAL ROLE clutch_app`, which is not a member, so only
-- `tenant_isolation` applies to it. With FORCE, an owner that is not a member (or a table without
-- the policy) sees nothing rather than everything.

DO $$
BEGIN
  CREATE ROLE clutch_system NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
  NULL; -- roles are per cluster: another database on this server created it
END
$$;
GRANT clutch_system TO CURRENT_USER;
